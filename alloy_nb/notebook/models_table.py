"""`%alloy models`: the host's models as a table (HTML in notebooks, text elsewhere)."""

from __future__ import annotations

import html
from dataclasses import dataclass

from ..config import Config
from ..host import Host, HostInfo, human_size

COLUMNS = ("name", "size", "family", "quantization", "modified")


@dataclass(frozen=True)
class ModelsTable:
    """What `GET /api/tags` lists, ready to display."""

    info: HostInfo

    @classmethod
    def read(cls, config: Config) -> ModelsTable:
        return cls(Host(config).info())

    def rows(self) -> list[tuple[str, ...]]:
        return [(m.name, human_size(m.size), m.family, m.quantization, m.modified) for m in self.info.models]

    def __repr__(self) -> str:
        if self.info.error:
            return self.info.error
        rows = [COLUMNS, *self.rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
        return "\n".join(lines) if self.info.models else f"No models at {self.info.host}."

    def _repr_html_(self) -> str:
        if self.info.error:
            return f'<div style="color:#b00020">{html.escape(self.info.error)}</div>'
        head = "".join(f"<th style='text-align:left'>{c}</th>" for c in COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in self.rows()
        )
        # narrow windows scroll the table instead of cutting its last columns off
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        return f'<div class="alloy-models" style="max-width:100%;overflow-x:auto">{table}</div>'
