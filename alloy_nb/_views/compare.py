"""Calls side by side: traces in columns that stack when the page is narrow, the live columns of
`%alloy compare` while it streams, and a replay (both traces and what changed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._visible import visible_html
from .diff import diff_body
from .style import page
from .text import shown
from .trace import trace_body

if TYPE_CHECKING:
    from .._trace.model import Trace


def comparison_html(traces: Sequence[Trace], titles: Sequence[str | None] = ()) -> str:
    """Traces side by side, a column each, each titled (default: its strategy)."""
    return page(_columns(traces, titles), "compare", "trace", "timeline")


def replay_html(notes: Sequence[str], original: Trace, replayed: Trace, titles: tuple[str, str]) -> str:
    """A replay: its notes, the logged and the replayed trace side by side, then what changed."""
    notes_html = "".join(f"<div><b>Note</b>: {visible_html(note)}</div>" for note in notes)
    body = notes_html + _columns((original, replayed), titles) + diff_body(original, replayed)
    return page(body, "compare", "trace", "timeline", "diff")


def compare_live_html(sides: Sequence[tuple[str, str, str]]) -> str:
    """`%alloy compare` while it runs: a column per `(side, state, text so far)`."""
    columns = "".join(
        f'<div class="alloy-compare-col"><b>{visible_html(side)}</b> <i>{visible_html(state)}</i>'
        f'<div class="av-live-text">{visible_html(text)}</div></div>'
        for side, state, text in sides
    )
    return page(f'<div class="alloy-compare alloy-compare-live">{columns}</div>', "compare")


def _columns(traces: Sequence[Trace], titles: Sequence[str | None]) -> str:
    named = [*titles, *[None] * (len(traces) - len(titles))]
    columns = "".join(
        f'<div class="alloy-compare-col"><div class="alloy-compare-title">{shown(title or trace.strategy)}</div>'
        f"{trace_body(trace)}</div>"
        for trace, title in zip(traces, named, strict=False)
    )
    return f'<div class="alloy-compare">{columns}</div>'
