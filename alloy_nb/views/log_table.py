"""Logged calls as an HTML table (every model, tool and user string escaped, its control and invisible
characters shown), with the plain-text fallback beside it."""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..log.store import LoggedCall
from ..log.table import HEADERS, cells, text_table
from ..visible import visible_html
from .style import page

_TITLE_CHARS = 2_000  # the full prompt or reply shows on hover, up to this much
_NONE = "No logged calls match."
_RED = ("status", "reply")  # the cells of a failed call shown in the error colour


def log_table_html(calls: Sequence[LoggedCall]) -> str:
    """A table of the calls, newest first as given; failed calls are tinted and show their error.
    No scripts, no links to stylesheets."""
    if not calls:
        return f"<div>{_NONE}</div>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADERS)
    body = "".join(_row_html(call) for call in calls)
    table = f'<table class="av-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return page(f'<div class="alloy-log av-scroll">{table}</div>', "table")


def log_table_text(calls: Sequence[LoggedCall]) -> str:
    """The `text/plain` view: the same columns as `alloy-nb logs` prints."""
    return text_table(calls) if calls else _NONE


def _row_html(call: LoggedCall) -> str:
    failed = call.status == "error" or call.error is not None
    full = {"prompt": call.prompt, "reply": call.error or call.reply}
    tds = []
    for header, value in zip(HEADERS, cells(call), strict=True):
        title = f' title="{visible_html(full[header][:_TITLE_CHARS])}"' if header in full else ""
        kinds = ["av-text"] if header in full else []  # free text: may break anywhere to fit
        kinds += ["av-time"] if header == "time" else []
        kinds += ["av-failed-text"] if failed and header in _RED else []
        classes = f' class="{" ".join(kinds)}"' if kinds else ""
        tds.append(f"<td{title}{classes}>{html.escape(value)}</td>")
    row_class = ' class="av-failed"' if failed else ""
    return f"<tr{row_class}>{''.join(tds)}</tr>"
