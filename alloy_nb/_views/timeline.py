"""Timelines as HTML (no scripts): a call's bars (`trace.timeline`) on one time axis, or many calls'.

Class attributes only, as the trace view: bars are placed by position classes in per-mille steps
(`at-tl-x125` starts at 12.5%), whose rules the stylesheet writes for the classes an output uses, so a
class means the same position in every view and views on one page never clash. Every string that
came from a model or a tool is escaped, its control and invisible characters shown (`visible`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._trace.timeline import Bar, BarKind, by_row, extent, start_offsets, timeline_bars
from .._visible import visible_html
from .style import page
from .text import duration_text

if TYPE_CHECKING:
    from .._trace.model import Trace

MAX_BATCH_ROWS = 200
_TIP_CHARS = 300  # of a bar's note (an error message) in its tooltip
_KIND_NAMES: dict[BarKind, str] = {
    "wait": "waiting",
    "thinking": "thinking",
    "generation": "generation",
    "tool": "tool run",
    "retry": "retry wait",
}
_SHORT_NAMES: dict[BarKind, str] = {
    "wait": "wait",
    "thinking": "think",
    "generation": "gen",
    "tool": "run",
    "retry": "backoff",
}


def timeline_html(trace: Trace) -> str:
    """One trace's timeline as an HTML output."""
    return page(f'<div class="alloy-trace alloy-timeline">{timeline_section(trace)}</div>', "timeline")


def timeline_section(trace: Trace) -> str:
    """The timeline as the trace view shows it (group "timeline"): a row per request, tool run and
    retry wait, an axis from 0 to the trace's duration, a legend."""
    bars = timeline_bars(trace)
    if not bars:
        return (
            '<div class="at-tl"><div class="at-tl-title">timeline</div><div class="at-tl-empty">no requests</div></div>'
        )
    scale = _Scale(extent(trace, bars))
    rows = "".join(_trace_row(row, scale) for row in by_row(bars))
    return _chart(f"timeline · {duration_text(scale.span_s)}", rows, scale)


def batch_timeline_section(traces: Sequence[Trace], indexes: Sequence[int] | None = None) -> str:
    """Many calls on one wall-clock axis (from the earliest `started_at`), a row per trace labelled
    with its item index (`indexes`, default the position) and host; at most MAX_BATCH_ROWS rows."""
    numbers = range(len(traces)) if indexes is None else indexes
    shown = list(zip(numbers, traces, strict=True))[:MAX_BATCH_ROWS]
    offsets = start_offsets([trace for _, trace in shown])
    laid = [(index, trace, timeline_bars(trace), offset) for (index, trace), offset in zip(shown, offsets, strict=True)]
    scale = _Scale(max((offset + extent(trace, bars) for _, trace, bars, offset in laid), default=0.0))
    rows = "".join(_batch_row(index, trace, bars, offset, scale) for index, trace, bars, offset in laid)
    if not laid:
        rows = '<div class="at-tl-empty">no items</div>'
    elif len(traces) > len(laid):
        rows += f'<div class="at-tl-more">… {len(traces) - len(laid)} more</div>'
    title = f"batch timeline · {len(traces)} item{'' if len(traces) == 1 else 's'} · {duration_text(scale.span_s)}"
    return f'<div class="alloy-trace alloy-timeline">{_chart(title, rows, scale, " at-tl-batch")}</div>'


def batch_timeline_html(traces: Sequence[Trace], indexes: Sequence[int] | None = None) -> str:
    """`batch_timeline_section` as an HTML output."""
    return page(batch_timeline_section(traces, indexes), "timeline")


# --- helpers ----------------------------------------------------------------------------------


@dataclass
class _Scale:
    """Seconds → per-mille positions on the axis."""

    span_s: float

    def left(self, seconds: float) -> int:
        return _permille(seconds / self.span_s) if self.span_s > 0 else 0

    def width(self, left: int, seconds: float) -> int:
        return min(_permille(seconds / self.span_s) if self.span_s > 0 else 0, 1000 - left)


def _permille(fraction: float) -> int:
    return min(max(round(fraction * 1000), 0), 1000)


def _chart(title: str, rows: str, scale: _Scale, extra_class: str = "") -> str:
    """Title, rows, axis and legend."""
    return (
        f'<div class="at-tl{extra_class}"><div class="at-tl-title">{visible_html(title)}</div>'
        f'<div class="at-tl-grid">{rows}{_axis(scale)}</div>{_legend()}</div>'
    )


def _trace_row(bars: list[Bar], scale: _Scale) -> str:
    first = bars[0]
    finalize = '<span class="at-tl-fin">finalize</span>' if first.finalize else ""
    label = f"{visible_html(first.label)}{finalize}"
    return _row(label, "".join(_bar(bar, 0.0, scale) for bar in bars), _row_note(bars))


def _batch_row(index: int, trace: Trace, bars: list[Bar], offset: float, scale: _Scale) -> str:
    bars_html = "".join(_bar(bar, offset, scale) for bar in bars)
    requests = len(trace.requests)
    note = f"{duration_text(trace.duration_s)} · {trace.status} · {requests} request{'' if requests == 1 else 's'}"
    return _row(visible_html(f"#{index} · {trace.host}"), bars_html, note)


def _row(label_html: str, bars_html: str, note: str, extra_class: str = "") -> str:
    return (
        f'<div class="at-tl-row{extra_class}"><span class="at-tl-label">{label_html}</span>'
        f'<span class="at-tl-track">{bars_html}</span><span class="at-tl-note">{visible_html(note)}</span></div>'
    )


def _row_note(bars: list[Bar]) -> str:
    parts = []
    for bar in bars:
        parts.append(f"{_SHORT_NAMES[bar.kind]} {duration_text(bar.duration_s)}")
        if bar.tokens_per_s is not None:
            parts.append(_rate_text(bar.tokens_per_s))
    if any(bar.failed for bar in bars):
        parts.append("✗ failed")
    return " · ".join(parts)


def _bar(bar: Bar, offset: float, scale: _Scale) -> str:
    left = scale.left(offset + bar.start_s)
    width = scale.width(left, bar.duration_s)
    classes = f"at-tl-bar at-tl-{bar.kind} at-tl-x{left} at-tl-w{width}"
    classes += " at-tl-failed" * bar.failed + " at-tl-right" * (left > 600)
    return f'<span class="{classes}"><span class="at-tl-tip">{visible_html(_tip(bar, offset))}</span></span>'


def _tip(bar: Bar, offset: float) -> str:
    start, end = offset + bar.start_s, offset + bar.end_s
    lines = [f"{bar.label} · {_KIND_NAMES[bar.kind]} {duration_text(bar.duration_s)}"]
    lines.append(f"{duration_text(start)} → {duration_text(end)}")
    if bar.tokens_per_s is not None:
        lines.append(_rate_text(bar.tokens_per_s))
    if bar.note:
        lines.append(bar.note if len(bar.note) <= _TIP_CHARS else bar.note[:_TIP_CHARS] + "…")
    return "\n".join(lines)


def _axis(scale: _Scale) -> str:
    ticks = []
    for half in range(3):  # start, middle, end: labels that fit a narrow column too
        position = scale.left(scale.span_s * half / 2)
        edge = " at-tl-tick-first" if half == 0 else " at-tl-tick-last" if half == 2 else ""
        label = duration_text(scale.span_s * half / 2)
        ticks.append(f'<span class="at-tl-tick at-tl-x{position}{edge}">{label}</span>')
    return _row("", "".join(ticks), "", " at-tl-axis")


def _legend() -> str:
    keys = "".join(
        f'<span><span class="at-tl-swatch at-tl-{kind}"></span>{name}</span>' for kind, name in _KIND_NAMES.items()
    )
    return f'<div class="at-tl-legend">{keys}</div>'


def _rate_text(tokens_per_s: float) -> str:
    return f"{tokens_per_s:.0f} tok/s" if tokens_per_s >= 10 else f"{tokens_per_s:.1f} tok/s"
