"""Plain tables of short text (`%alloy models`, `%alloy ps`), or the sentence saying why there are none."""

from __future__ import annotations

from collections.abc import Sequence

from .._visible import visible_html
from .style import page


def table_html(columns: Sequence[str], rows: Sequence[Sequence[str]], *, empty: str, error: str | None = None) -> str:
    """The rows under their column names, escaped; `error` in the error colour, `empty` when no rows.
    A narrow window scrolls the table instead of cutting its last columns off."""
    if error:
        return page(f'<div class="av-error">{visible_html(error)}</div>')
    if not rows:
        return f"<div>{visible_html(empty)}</div>"
    head = "".join(f"<th>{visible_html(column)}</th>" for column in columns)
    body = "".join("<tr>" + "".join(f"<td>{visible_html(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    table = f'<table class="av-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return page(f'<div class="alloy-models av-scroll">{table}</div>', "table")
