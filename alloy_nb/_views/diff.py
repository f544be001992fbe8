"""What changed between two calls as HTML: their replies and their first request bodies, line by line
(escaped, control and invisible characters shown)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .._trace.diff import diff_lines, first_body
from .._visible import visible_html
from .style import page

if TYPE_CHECKING:
    from .._trace.model import Trace


def diff_html(before: Trace, after: Trace) -> str:
    """The reply diff and the request body diff of two traces as an HTML output."""
    return page(diff_body(before, after), "diff")


def diff_body(before: Trace, after: Trace) -> str:
    """`diff_html` without its stylesheet (group "diff")."""
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
    return f"<details open><summary>{heading}</summary><pre>{''.join(_line(line) for line in lines)}</pre></details>"


def _line(line: str) -> str:
    kind = "av-added" if line.startswith("+") else "av-removed" if line.startswith("-") else ""
    escaped = visible_html(line)
    return f'<div class="{kind}">{escaped}</div>' if kind else f"<div>{escaped}</div>"
