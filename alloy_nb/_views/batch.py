"""What `map` returns as HTML: the totals, a row per item, the batch timeline.

Every cell is left-aligned and wraps, so the table fits an 800 px notebook. A failed item opens with
its cause (the error's type and message) on a tinted line across the table, its row below it; a
reply cut by the token limit is marked "cut at max_tokens" (from the item's trace)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._visible import visible_html
from .style import page
from .timeline import batch_timeline_section

if TYPE_CHECKING:
    from .._trace.model import Trace


@dataclass(frozen=True)
class BatchRow:
    """One item as the table shows it: plain text, escaped here. `result` None: the item did not run."""

    index: int
    item: str
    result: str | None = None
    host: str = ""
    seconds: str = ""
    failed: bool = False


def batch_html(
    summary: str,
    rows: Sequence[BatchRow],
    *,
    more: int = 0,
    interrupted: str | None = None,
    traced: Sequence[tuple[int, Trace]] = (),
) -> str:
    """The batch as an HTML output: `summary`, the rows (and a line for `more` not shown), the note on an
    interrupted run, and the timeline of the `traced` items (index, trace), folded."""
    cut = {index for index, trace in traced if was_cut(trace)}
    body = "".join(_row(row, cut=row.index in cut) for row in rows)
    if more:
        body += f'<tr><td colspan="5">… {more} more (result.to_pandas() has all)</td></tr>'
    note = f"<div><b>{visible_html(interrupted)}</b></div>" if interrupted else ""
    head = "<tr><th>#</th><th>item</th><th>result</th><th>host</th><th>s</th></tr>"
    table = f'<div class="av-scroll"><table class="av-table"><thead>{head}</thead><tbody>{body}</tbody></table></div>'
    timeline = ""
    if traced:
        section = batch_timeline_section([trace for _, trace in traced], [index for index, _ in traced])
        timeline = f"<details><summary>timeline</summary>{section}</details>"
    return page(
        f'<div class="alloy-batch"><div>{visible_html(summary)}</div>{note}{table}{timeline}</div>', "table", "timeline"
    )


def was_cut(trace: Trace) -> bool:
    """Whether the call's last reply ended at the token limit (`max_tokens`)."""
    return bool(trace.responses) and trace.responses[-1].done_reason == "length"


CUT_MARK = '<span class="av-cut">cut at max_tokens</span>'


def _row(row: BatchRow, *, cut: bool) -> str:
    cause = ""
    if row.result is None:
        result = '<i class="av-muted">not run</i>'
    elif row.failed:
        cause = (
            '<tr class="av-failed av-cause"><td colspan="5" class="av-text av-failed-text">'
            f"✗ {visible_html(row.result)}</td></tr>"
        )
        result = '<span class="av-failed-text">✗ failed (the cause is above)</span>'
    else:
        result = visible_html(row.result) + (f" {CUT_MARK}" if cut else "")
    failed = ' class="av-failed"' if row.failed else ""
    return (
        f'{cause}<tr{failed}><td>{row.index}</td><td class="av-text">{visible_html(row.item)}</td>'
        f'<td class="av-text">{result}</td><td>{visible_html(row.host)}</td><td>{visible_html(row.seconds)}</td></tr>'
    )
