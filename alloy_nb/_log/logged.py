"""A logged call as Python reads it back: one row of the `calls` table, typed, whatever the file holds."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .._trace.model import Trace
from .schema import COLUMNS


@dataclass(frozen=True)
class LoggedCall:
    """One row of the log; `.trace` reads the full trace from its JSON when first asked for."""

    id: str
    time: str
    model: str
    strategy: str
    host: str
    status: str
    prompt: str
    reply: str
    thinking: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    duration_s: float | None
    ttft_s: float | None
    output_type: str
    tools: tuple[str, ...]
    notebook: str | None
    cell: str | None
    error: str | None
    trace_json: str = field(repr=False)

    @cached_property
    def trace(self) -> Trace:
        return Trace.from_json(self.trace_json)


def logged_call(row: tuple[Any, ...]) -> LoggedCall:
    """A row as its types say, whatever a shared or edited log holds: SQLite keeps text in a number
    column, and a NULL or a number in a text one."""
    values = {column: _READERS[column](value) for column, value in zip(COLUMNS, row, strict=True)}
    values["trace_json"] = values.pop("trace")
    return LoggedCall(**values)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _count(value: Any) -> int | None:
    """A whole number, or None for anything else (text, a blob, a float that is not whole)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _seconds(value: Any) -> float | None:
    """A finite number of seconds, or None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _tool_names(value: Any) -> tuple[str, ...]:
    """The `tools` column: a JSON list of names; anything else as none."""
    try:
        names = json.loads(value) if isinstance(value, str) else []
    except (ValueError, RecursionError):
        return ()
    return tuple(str(name) for name in names) if isinstance(names, list) else ()


_READERS: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(("id", "time", "model", "strategy", "host", "status", "prompt", "reply"), _text),
    **dict.fromkeys(("output_type", "trace"), _text),
    **dict.fromkeys(("thinking", "notebook", "cell", "error"), _text_or_none),
    **dict.fromkeys(("prompt_tokens", "completion_tokens"), _count),
    **dict.fromkeys(("duration_s", "ttft_s"), _seconds),
    "tools": _tool_names,
}
