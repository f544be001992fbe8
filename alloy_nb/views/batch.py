"""What `map` returns as HTML: the totals, a row per item (failed rows tinted), the batch timeline."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..visible import visible_html
from .style import page
from .timeline import batch_timeline_section

if TYPE_CHECKING:
    from ..trace.model import Trace


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
    body = "".join(_row(row) for row in rows)
    if more:
        body += f'<tr><td colspan="5">… {more} more (result.to_pandas() has all)</td></tr>'
    note = f"<div><b>{html.escape(interrupted)}</b></div>" if interrupted else ""
    head = '<tr><th class="av-number">#</th><th>item</th><th>result</th><th>host</th><th class="av-number">s</th></tr>'
    table = f'<div class="av-scroll"><table class="av-table"><thead>{head}</thead><tbody>{body}</tbody></table></div>'
    timeline = ""
    if traced:
        section = batch_timeline_section([trace for _, trace in traced], [index for index, _ in traced])
        timeline = f"<details><summary>timeline</summary>{section}</details>"
    return page(
        f'<div class="alloy-batch"><div>{html.escape(summary)}</div>{note}{table}{timeline}</div>', "table", "timeline"
    )


def _row(row: BatchRow) -> str:
    if row.result is None:
        result = '<i class="av-muted">not run</i>'
    elif row.failed:
        result = f'<span class="av-failed-text">{visible_html("✗ " + row.result)}</span>'
    else:
        result = visible_html(row.result)
    failed = ' class="av-failed"' if row.failed else ""
    return (
        f'<tr{failed}><td class="av-number">{row.index}</td><td class="av-text">{visible_html(row.item)}</td><td class="av-text">{result}</td>'
        f'<td>{visible_html(row.host)}</td><td class="av-number">{html.escape(row.seconds)}</td></tr>'
    )
