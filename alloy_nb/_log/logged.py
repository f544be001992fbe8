"""A logged call as Python reads it back: one row of the `calls` table, typed, whatever the file holds."""

from __future__ import annotations

import json
import math
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
    cell = dict(zip(COLUMNS, row, strict=True))
    return LoggedCall(
        id=_text(cell["id"]),
        time=_text(cell["time"]),
        model=_text(cell["model"]),
        strategy=_text(cell["strategy"]),
        host=_text(cell["host"]),
        status=_text(cell["status"]),
        prompt=_text(cell["prompt"]),
        reply=_text(cell["reply"]),
        thinking=_text_or_none(cell["thinking"]),
        prompt_tokens=_number(cell["prompt_tokens"], int),
        completion_tokens=_number(cell["completion_tokens"], int),
        duration_s=_number(cell["duration_s"], float),
        ttft_s=_number(cell["ttft_s"], float),
        output_type=_text(cell["output_type"]),
        tools=_tool_names(cell["tools"]),
        notebook=_text_or_none(cell["notebook"]),
        cell=_text_or_none(cell["cell"]),
        error=_text_or_none(cell["error"]),
        trace_json=_text(cell["trace"]),
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _number(value: Any, kind: type[int] | type[float]) -> Any:
    """An int or float column's value; anything else (text, a blob) as None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return kind(value) if math.isfinite(value) else None


def _tool_names(value: Any) -> tuple[str, ...]:
    """The `tools` column: a JSON list of names; anything else as none."""
    try:
        names = json.loads(value) if isinstance(value, str) else []
    except (ValueError, RecursionError):
        return ()
    return tuple(str(name) for name in names) if isinstance(names, list) else ()
