"""What changed between two calls, as data: their first request bodies and unified diffs of two texts
(`_views/diff.py` shows them)."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Trace


def first_body(trace: Trace) -> Any:
    return trace.requests[0].body if trace.requests else None


def diff_lines(before: str, after: str) -> list[str]:
    """A unified diff of two texts (no file header lines).

    >>> diff_lines("a\\nb", "a\\nc")
    ['@@ -1,2 +1,2 @@', ' a', '-b', '+c']
    """
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=2)
    return [line for line in lines if not line.startswith(("---", "+++"))]
