"""What `map` returns: every item's value or error with its trace, host and timing, and the totals."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._config import redact_host
from .._trace import Trace
from .._views.batch import BatchRow, batch_html

_SHOWN_CHARS = 120  # of an item, value or error in the notebook table
_TABLE_ROWS = 50  # rows the notebook table shows before "… N more"


@dataclass
class ItemResult:
    """One item of a batch: its value, or the error that ended it; the trace of its last attempt."""

    index: int
    item: Any
    value: Any = None
    error: BaseException | None = None
    trace: Trace | None = None
    host: str | None = None
    duration_s: float = 0.0
    attempts: int = 1

    def __post_init__(self) -> None:
        if self.host:  # shown in tables, reprs and to_pandas(): never with a password in it
            self.host = redact_host(self.host)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def tokens(self) -> int:
        return (self.trace.usage.completion_tokens or 0) if self.trace is not None else 0


@dataclass
class BatchResult(Sequence[Any]):
    """The items' values in input order (None where an item failed or did not run), plus everything
    about each item in `.items` and the totals. `resume()` runs the items not finished yet."""

    inputs: list[Any]
    slots: list[ItemResult | None]
    wall_s: float = 0.0
    interrupted: bool = False
    rerun: Callable[[BatchResult, bool], BatchResult] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def empty(cls, inputs: Sequence[Any]) -> BatchResult:
        return cls(list(inputs), [None] * len(inputs))

    def __len__(self) -> int:
        return len(self.slots)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return self.values[index]
        slot = self.slots[index]  # one item: not every value (reversed() and .index() read item by item)
        return slot.value if slot is not None else None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.values)

    @property
    def values(self) -> list[Any]:
        return [slot.value if slot is not None else None for slot in self.slots]

    @property
    def items(self) -> list[ItemResult]:
        """The items that finished, ok or failed, in input order."""
        return [slot for slot in self.slots if slot is not None]

    @property
    def ok(self) -> list[ItemResult]:
        return [slot for slot in self.items if slot.ok]

    @property
    def failed(self) -> list[ItemResult]:
        return [slot for slot in self.items if not slot.ok]

    @property
    def pending(self) -> list[int]:
        """Indexes of the items not finished (interrupted or never started)."""
        return [index for index, slot in enumerate(self.slots) if slot is None]

    @property
    def done(self) -> bool:
        return not self.pending

    @property
    def traces(self) -> list[Trace]:
        return [slot.trace for slot in self.items if slot.trace is not None]

    @property
    def tokens(self) -> int:
        """Completion tokens over every finished item."""
        return sum(slot.tokens for slot in self.items)

    @property
    def tokens_per_s(self) -> float | None:
        return self.tokens / self.wall_s if self.wall_s > 0 else None

    def resume(self, *, retry_failed: bool = False) -> BatchResult:
        """Run the items that did not finish (and the failed ones with `retry_failed=True`), with the
        same call and options; returns this result, completed."""
        if self.rerun is None:
            raise RuntimeError("This BatchResult was not made by map(), so it cannot be resumed.")
        return self.rerun(self, retry_failed)

    def to_pandas(self) -> Any:
        """One row per item: item, value, ok, error, host, seconds, tokens, attempts (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install pandas (or alloy_nb[pandas]).") from None
        return pd.DataFrame(
            [
                {
                    "item": self.inputs[index],
                    "value": slot.value if slot else None,
                    "ok": slot.ok if slot else None,
                    "error": _error_text(slot.error) if slot and slot.error else None,
                    "host": slot.host if slot else None,
                    "seconds": slot.duration_s if slot else None,
                    "tokens": slot.tokens if slot else None,
                    "attempts": slot.attempts if slot else 0,
                }
                for index, slot in enumerate(self.slots)
            ]
        )

    def summary(self) -> str:
        """`48 ok · 2 failed · 0 not run · 1,830 tokens · 212.4 tok/s · 8.6 s`."""
        parts = [f"{len(self.ok)} ok", f"{len(self.failed)} failed"]
        if self.pending:
            parts.append(f"{len(self.pending)} not run")
        parts.append(f"{self.tokens:,} tokens")
        if self.tokens_per_s is not None:
            parts.append(f"{self.tokens_per_s:.1f} tok/s")
        parts.append(f"{self.wall_s:.1f} s")
        return " · ".join(parts)

    def interrupted_message(self) -> str:
        return (
            f"Interrupted: {len(self.items)} of {len(self)} items finished, {len(self.pending)} not; "
            "result.resume() runs only those."
        )

    def __repr__(self) -> str:
        state = " (interrupted)" if self.interrupted else ""
        return f"<BatchResult of {len(self)} items{state}: {self.summary()}>"

    def _repr_html_(self) -> str:
        rows = [_row(index, self.inputs[index], slot) for index, slot in enumerate(self.slots[:_TABLE_ROWS])]
        traced = [(slot.index, slot.trace) for slot in self.items if slot.trace is not None]
        return batch_html(
            self.summary(),
            rows,
            more=max(len(self) - _TABLE_ROWS, 0),
            interrupted=self.interrupted_message() if self.interrupted else None,
            traced=traced,
        )


def _row(index: int, item: Any, slot: ItemResult | None) -> BatchRow:
    """The table's row for one item: its text cut to _SHOWN_CHARS, the host without credentials."""
    if slot is None:
        return BatchRow(index, _cut(item))
    result = _cut(slot.value) if slot.ok else _cut(_error_text(slot.error) if slot.error else "")
    host = slot.host or ""
    return BatchRow(index, _cut(item), result, host, f"{slot.duration_s:.2f}", failed=not slot.ok)


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _cut(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"
