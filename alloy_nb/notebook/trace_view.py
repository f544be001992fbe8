"""Trace display in a notebook: one trace as HTML, or two side by side."""

from __future__ import annotations

from dataclasses import dataclass

from IPython.display import HTML, display

from ..trace import Trace
from ..views.compare import comparison_html
from ..views.trace import trace_html


def show_trace(trace: Trace) -> None:
    """Display one trace as its HTML conversation view."""
    display(HTML(trace_html(trace)))


@dataclass(frozen=True)
class Comparison:
    """Two traces shown side by side (HTML) or one summary after the other (text)."""

    left: Trace
    right: Trace
    titles: tuple[str, str]

    def _repr_html_(self) -> str:
        return comparison_html(self.left, self.right, *self.titles)

    def __repr__(self) -> str:
        return "\n\n".join(
            f"── {title} ──\n{trace.summary()}"
            for title, trace in zip(self.titles, (self.left, self.right), strict=True)
        )


def compare(left: Trace, right: Trace, titles: tuple[str, str] | None = None) -> Comparison:
    """Put two traces side by side; titles default to their strategies."""
    return Comparison(left, right, titles or (left.strategy, right.strategy))
