"""Trace display in a notebook: one trace as HTML, or several side by side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from IPython.display import HTML, display

from .._trace import Trace
from .._views.compare import comparison_html
from .._views.trace import trace_html


def show_trace(trace: Trace) -> None:
    """Display one trace as its HTML conversation view."""
    display(HTML(trace_html(trace)))


@dataclass(frozen=True)
class Comparison:
    """Traces shown side by side (HTML) or one summary after another (text)."""

    traces: tuple[Trace, ...]
    titles: tuple[str, ...]

    def _repr_html_(self) -> str:
        return comparison_html(self.traces, self.titles)

    def __repr__(self) -> str:
        return "\n\n".join(
            f"── {title} ──\n{trace.summary()}" for title, trace in zip(self.titles, self.traces, strict=True)
        )


def compare(*traces: Trace, titles: Sequence[str] | None = None) -> Comparison:
    """Put traces side by side (two or three read well); titles default to their strategies."""
    if len(traces) < 2:
        raise ValueError(f"compare() needs at least two traces; it got {len(traces)}.")
    names = tuple(titles) if titles is not None else tuple(trace.strategy for trace in traces)
    if len(names) != len(traces):
        raise ValueError(f"compare() got {len(traces)} traces but {len(names)} titles.")
    return Comparison(traces, names)
