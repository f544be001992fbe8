"""`%alloy models` and `%alloy ps`: what the host has and what it holds in memory, as tables
(HTML in notebooks, text elsewhere)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .._config import Config
from .._host import Host, human_size
from .._views.tables import table_html


@dataclass(frozen=True)
class Table:
    """Rows to display, or the sentence saying why there are none."""

    columns: tuple[str, ...]
    rows: Sequence[tuple[str, ...]] = field(default_factory=list)
    empty: str = "Nothing to show."
    error: str | None = None

    def __repr__(self) -> str:
        if self.error:
            return self.error
        if not self.rows:
            return self.empty
        rows = [self.columns, *self.rows]
        widths = [max(len(row[i]) for row in rows) for i in range(len(self.columns))]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
        )

    def _repr_html_(self) -> str:
        return table_html(self.columns, self.rows, empty=self.empty, error=self.error)


def models_table(config: Config) -> Table:
    """What `GET /api/tags` lists."""
    info = Host(config).info()
    rows = [(m.name, human_size(m.size), m.family, m.quantization, m.modified) for m in info.models]
    columns = ("name", "size", "family", "quantization", "modified")
    return Table(columns, rows, empty=f"No models at {info.host}.", error=info.error)


def running_table(config: Config, now: datetime | None = None) -> Table:
    """What `GET /api/ps` lists: the models in memory, their size, VRAM, context and when each unloads."""
    host = Host(config)
    columns = ("name", "size", "in VRAM", "context", "unloads")
    try:
        running = host.running().models
    except Exception as exc:
        return Table(columns, error=f"Could not read the loaded models at {host.shown}: {exc}")
    now = now or datetime.now(timezone.utc)
    rows = [
        (
            str(m.model or m.name),
            human_size(int(m.size or 0)),
            human_size(int(m.size_vram or 0)),
            f"{m.context_length:,} tokens" if m.context_length else "–",
            _until(m.expires_at, now),
        )
        for m in running
    ]
    return Table(columns, rows, empty=f"No model is loaded at {host.shown}.")


def _until(moment: Any, now: datetime) -> str:
    """`in 4 min` (or `in 12 s`, `never`) until `moment`."""
    if not isinstance(moment, datetime):
        return "–"
    seconds = (moment - now).total_seconds()
    if seconds > 10 * 365 * 86400:
        return "never"
    if seconds < 0:
        return "now"
    return f"in {seconds:.0f} s" if seconds < 120 else f"in {seconds / 60:.0f} min"
