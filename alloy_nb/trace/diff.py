"""What changed between two calls: their replies and their first request bodies, line by line (escaped,
control and invisible characters shown)."""

from __future__ import annotations

import difflib
import json
from typing import Any

from ..visible import visible_html
from .model import Trace

_ADDED = "background:rgba(40,170,60,.18)"
_REMOVED = "background:rgba(220,40,40,.16)"


def first_body(trace: Trace) -> Any:
    return trace.requests[0].body if trace.requests else None


def diff_lines(before: str, after: str) -> list[str]:
    """A unified diff of two texts (no file header lines).

    >>> diff_lines("a\\nb", "a\\nc")
    ['@@ -1,2 +1,2 @@', ' a', '-b', '+c']
    """
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=2)
    return [line for line in lines if not line.startswith(("---", "+++"))]


def diff_html(before: Trace, after: Trace) -> str:
    """The reply diff and the request body diff of two traces, escaped."""
    bodies = [json.dumps(first_body(trace), indent=1, sort_keys=True, ensure_ascii=False) for trace in (before, after)]
    return (
        '<div class="alloy-diff">'
        + _section("reply", diff_lines(before.reply_text(), after.reply_text()))
        + _section("first request body", diff_lines(*bodies))
        + "</div>"
    )


def _section(title: str, lines: list[str]) -> str:
    heading = f"<b>{visible_html(title)}</b>"
    if not lines:
        return f"<div>{heading}: the same</div>"
    shown = "".join(_line(line) for line in lines)
    return f"<details open><summary>{heading}</summary><pre style='margin:2px 0'>{shown}</pre></details>"


def _line(line: str) -> str:
    style = _ADDED if line.startswith("+") else _REMOVED if line.startswith("-") else ""
    escaped = visible_html(line)
    return f"<div style='{style}'>{escaped}</div>" if style else f"<div>{escaped}</div>"
