"""Logged calls as an HTML table for notebooks (every model, tool and user string escaped, its control
and invisible characters shown), with a plain-text fallback."""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..log.store import LoggedCall
from ..log.table import HEADERS, cells, text_table
from ..visible import visible_html

_TITLE_CHARS = 2_000  # the full prompt or reply shows on hover, up to this much
_ERROR_ROW = "background:rgba(176,0,32,0.08)"
_ERROR_TEXT = "color:#b00020"


def log_table_html(calls: Sequence[LoggedCall]) -> str:
    """A table of the calls, newest first as given; failed calls are tinted and show their error.

    No scripts, no links to stylesheets: inline styles only."""
    if not calls:
        return "<div>No logged calls match.</div>"
    head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in HEADERS)
    body = "".join(_row_html(call) for call in calls)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="alloy-log" style="max-width:100%;overflow-x:auto">{table}</div>'


def log_table_text(calls: Sequence[LoggedCall]) -> str:
    """The `text/plain` view: the same columns as `alloy-nb logs` prints."""
    return text_table(calls) if calls else "No logged calls match."


def _row_html(call: LoggedCall) -> str:
    failed = call.status == "error" or call.error is not None
    values = cells(call)
    full = {"prompt": call.prompt, "reply": call.error or call.reply}
    tds = []
    for header, value in zip(HEADERS, values, strict=True):
        title = f' title="{visible_html(full[header][:_TITLE_CHARS])}"' if header in full else ""
        style = f' style="{_ERROR_TEXT}"' if failed and header in ("status", "reply") else ""
        tds.append(f"<td{title}{style}>{html.escape(value)}</td>")
    row_style = f' style="{_ERROR_ROW}"' if failed else ""
    return f"<tr{row_style}>{''.join(tds)}</tr>"
