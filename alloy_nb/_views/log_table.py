"""Logged calls as an HTML table (every model, tool and user string escaped, its control and invisible
characters shown), with the plain-text fallback beside it.

The prompt column is the user's prompt as the call's trace has it, not the system prompt alloy_nb sent
with it (a typed call's schema instruction). A failed call opens with its cause (the error's type and
message) on a tinted line across the table, its row below it; a reply cut by the token limit is marked.
Every cell is left-aligned and wraps, so the table fits an 800 px notebook."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .._choices import MODEL_PREFIX
from .._log.logged import LoggedCall
from .._log.table import HEADERS, cells, short, text_table
from .._visible import visible_html
from .batch import CUT_MARK, was_cut
from .style import page

_TITLE_CHARS = 2_000  # the full prompt or reply shows on hover, up to this much
_CAUSE_CHARS = 400  # of a failed call's error, on its line across the table
_NONE = "No logged calls match."
_RED = ("status", "reply")  # the cells of a failed call shown in the error colour


def log_table_html(calls: Sequence[LoggedCall]) -> str:
    """A table of the calls, newest first as given; a failed call is tinted, its error first.
    No scripts, no links to stylesheets."""
    if not calls:
        return f"<div>{_NONE}</div>"
    head = "".join(f"<th>{visible_html(h)}</th>" for h in HEADERS)
    body = "".join(_rows_html(call) for call in calls)
    table = f'<table class="av-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return page(f'<div class="alloy-log av-scroll">{table}</div>', "table")


def log_table_text(calls: Sequence[LoggedCall]) -> str:
    """The `text/plain` view: the same columns as `alloy-nb logs` prints, the user's prompt in its column."""
    return text_table([as_shown(call) for call in calls]) if calls else _NONE


def as_shown(call: LoggedCall) -> LoggedCall:
    """The call with its prompt as the user wrote it: the last user message the call began with, read
    from its trace (the logged prompt joins the system prompt, a typed call's schema instruction, to it)."""
    try:
        prompt = call.trace.prompt()
    except Exception:  # a trace this version cannot read: the logged prompt as it is
        return call
    return replace(call, prompt=prompt) if prompt else call


def _rows_html(call: LoggedCall) -> str:
    failed = call.status == "error" or call.error is not None
    shown = as_shown(call)
    full = {"prompt": shown.prompt, "reply": call.error or call.reply}
    tds = []
    for header, value in zip(HEADERS, cells(shown), strict=True):
        title = f' title="{visible_html(full[header][:_TITLE_CHARS])}"' if header in full else ""
        kinds = ["av-text"] if header in full else []  # free text: may break anywhere to fit
        kinds += ["av-time"] if header == "time" else []
        kinds += ["av-failed-text"] if failed and header in _RED else []
        classes = f' class="{" ".join(kinds)}"' if kinds else ""
        text = "✗ failed (the cause is above)" if failed and header == "reply" else value
        text = text.removeprefix(MODEL_PREFIX) if header == "model" else text  # as the footer shows it: narrower
        mark = f" {CUT_MARK}" if header == "reply" and not failed and _was_cut(call) else ""
        tds.append(f"<td{title}{classes}>{visible_html(text)}{mark}</td>")
    if not failed:
        return f"<tr>{''.join(tds)}</tr>"
    cause = visible_html(short(call.error or call.status, _CAUSE_CHARS))
    return (
        f'<tr class="av-failed av-cause"><td colspan="{len(HEADERS)}" class="av-text av-failed-text">✗ {cause}</td></tr>'
        f'<tr class="av-failed">{"".join(tds)}</tr>'
    )


def _was_cut(call: LoggedCall) -> bool:
    try:
        return was_cut(call.trace)
    except Exception:
        return False
