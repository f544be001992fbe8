"""Timelines: a call's requests, tool runs and retry waits as bars on one time axis (HTML, no scripts).

`timeline_bars` computes the bars as plain data. The HTML carries class attributes only, as the trace
view does: bars are placed by position classes in per-mille steps with a `<style>` rule for each one
used (a class means the same position in every view, so views on one page never clash). Every string
that came from a model or a tool is escaped, its control and invisible characters shown (`visible`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Literal

from ..visible import visible_html

if TYPE_CHECKING:  # (types only: the trace model imports the views that import this)
    from .events import AnyEvent, ErrorInfo, RequestEvent, ResponseEvent, RetryEvent, ToolEvent
    from .model import Trace

BarKind = Literal["wait", "thinking", "generation", "tool", "retry"]

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

_CSS = """
.alloy-trace.alloy-timeline{font:13px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;border:1px solid #8884;
 border-radius:6px;padding:8px 10px;margin:4px 0;min-width:0}
.alloy-trace .at-tl{margin:4px 0 8px}
.alloy-trace .at-tl-title{font-weight:600;font-size:12px;opacity:.8;margin-bottom:2px}
.alloy-trace .at-tl-grid{display:grid;grid-template-columns:minmax(3em,10em) minmax(12em,1fr) minmax(0,20em);
 column-gap:8px;align-items:center}
.alloy-trace .at-tl-batch .at-tl-grid{grid-template-columns:minmax(4em,16em) minmax(12em,1fr) minmax(0,20em)}
.alloy-trace .at-tl-row{display:contents}
.alloy-trace .at-tl-label{min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-size:12px;
 line-height:18px}
.alloy-trace .at-tl-track{position:relative;height:14px;border-right:1px solid #8883;
 background:linear-gradient(to right,#8883 1px,transparent 1px) 0 0/25% 100%}
.alloy-trace .at-tl-note{min-width:0;font-size:11px;opacity:.75;white-space:nowrap;overflow:hidden;
 text-overflow:ellipsis}
.alloy-trace .at-tl-bar{position:absolute;top:2px;bottom:2px;min-width:2px;border-radius:2px}
.alloy-trace .at-tl-wait{background:#9e9e9e73}
.alloy-trace .at-tl-thinking{background:#ab47bc99}
.alloy-trace .at-tl-generation{background:#00897bb3}
.alloy-trace .at-tl-tool{background:#ef6c00b3}
.alloy-trace .at-tl-retry{background:repeating-linear-gradient(45deg,#c628288c 0 3px,transparent 3px 6px)}
.alloy-trace .at-tl-failed{box-shadow:inset 0 0 0 1px #c62828}
.alloy-trace .at-tl-fin{background:#6a1b9a;color:#fff;border-radius:8px;padding:0 5px;margin-left:4px;font-size:11px}
.alloy-trace .at-tl-tip{display:none;position:absolute;top:100%;left:0;z-index:10;margin-top:2px;padding:2px 6px;
 max-width:32em;width:max-content;font-size:11px;white-space:pre-wrap;border:1px solid #8886;border-radius:4px;
 background:var(--jp-layout-color1,Canvas);color:var(--jp-content-font-color1,CanvasText)}
.alloy-trace .at-tl-bar:hover .at-tl-tip{display:block}
.alloy-trace .at-tl-right .at-tl-tip{left:auto;right:0}
.alloy-trace .at-tl-axis .at-tl-track{background:none;border:0;height:14px}
.alloy-trace .at-tl-tick{position:absolute;font-size:10px;opacity:.65;transform:translateX(-50%);white-space:nowrap}
.alloy-trace .at-tl-tick-first{transform:none}.alloy-trace .at-tl-tick-last{transform:translateX(-100%)}
.alloy-trace .at-tl-legend{display:flex;flex-wrap:wrap;gap:2px 12px;font-size:11px;opacity:.8;margin-top:2px}
.alloy-trace .at-tl-swatch{display:inline-block;position:relative;width:14px;height:10px;border-radius:2px;
 margin-right:4px;vertical-align:-1px}
.alloy-trace .at-tl-empty,.alloy-trace .at-tl-more{opacity:.7;font-style:italic;font-size:12px}
"""


@dataclass(frozen=True)
class Bar:
    """One span of a call, in seconds since its trace started; bars with the same `row` share a line
    (a request's waiting, thinking and generation)."""

    kind: BarKind
    row: int
    label: str  # the row's name: "turn 0", "⚙ add", "↻ retry"
    start_s: float
    duration_s: float
    tokens_per_s: float | None = None  # generation bars: completion tokens over first token → done
    note: str = ""  # what the tooltip adds: what a wait measures, an error
    finalize: bool = False
    failed: bool = False

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


def timeline_bars(trace: Trace) -> list[Bar]:
    """The trace's requests (waiting, thinking, generation), tool runs and retry waits, in event order."""
    layout = _Layout()
    for event in trace.events:
        layout.add(event)
    end = trace.duration_s if trace.duration_s is not None else layout.cursor
    layout.close_pending(end, failed=trace.status in ("error", "interrupted"), note=_error_text(trace.error))
    return layout.bars


def timeline_html(trace: Trace) -> str:
    """One trace's timeline as a self-contained HTML fragment."""
    return f'<div class="alloy-trace alloy-timeline">{timeline_section(trace)}</div>'


def timeline_section(trace: Trace) -> str:
    """The timeline as the trace view shows it: a row per request, tool run and retry wait, an axis
    from 0 to the trace's duration, a legend."""
    bars = timeline_bars(trace)
    if not bars:
        return (
            '<div class="at-tl"><div class="at-tl-title">timeline</div><div class="at-tl-empty">no requests</div></div>'
        )
    scale = _Scale(_extent(trace, bars))
    rows = "".join(_trace_row(row, scale) for row in _by_row(bars))
    return _chart(f"timeline · {duration_text(scale.span_s)}", rows, scale)


def batch_timeline_html(traces: Sequence[Trace], indexes: Sequence[int] | None = None) -> str:
    """Many calls on one wall-clock axis (from the earliest `started_at`), a row per trace labelled
    with its item index (`indexes`, default the position) and host; at most MAX_BATCH_ROWS rows."""
    numbers = range(len(traces)) if indexes is None else indexes
    shown = list(zip(numbers, traces, strict=True))[:MAX_BATCH_ROWS]
    laid = [
        (index, trace, timeline_bars(trace), offset)
        for (index, trace), offset in zip(shown, _offsets(shown), strict=True)
    ]
    scale = _Scale(max((offset + _extent(trace, bars) for _, trace, bars, offset in laid), default=0.0))
    rows = "".join(_batch_row(index, trace, bars, offset, scale) for index, trace, bars, offset in laid)
    if not laid:
        rows = '<div class="at-tl-empty">no items</div>'
    elif len(traces) > len(laid):
        rows += f'<div class="at-tl-more">… {len(traces) - len(laid)} more</div>'
    title = f"batch timeline · {len(traces)} item{'' if len(traces) == 1 else 's'} · {duration_text(scale.span_s)}"
    return f'<div class="alloy-trace alloy-timeline">{_chart(title, rows, scale, " at-tl-batch")}</div>'


def duration_text(seconds: float | None) -> str:
    """Seconds as people read them: `12.3 ms`, `1.50 s`, `–` when unknown."""
    if seconds is None:
        return "–"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


# --- bars from events -------------------------------------------------------------------------

_WAIT_NOTES = {
    "stream": "sent → first token",
    "server": "sent → generation began (the server's eval_duration)",
    None: "sent → reply (not streamed)",
}


@dataclass
class _Pending:
    """A request sent and not answered yet, with the row it owns."""

    sent_s: float
    row: int
    label: str
    finalize: bool = False


@dataclass
class _Layout:
    """Walks a trace's events in order, pairing each request with its reply or its failure."""

    bars: list[Bar] = field(default_factory=list)
    rows: int = 0
    pending: _Pending | None = None
    sends: dict[tuple[int, int], int] = field(default_factory=dict)  # (attempt, turn) → requests so far
    cursor: float = 0.0  # the latest end so far: where a tool run recorded without a start goes

    def add(self, event: AnyEvent) -> None:
        if event.kind == "request":
            self._on_request(event)
        elif event.kind == "response":
            self._on_response(event)
        elif event.kind == "tool":
            self._on_tool(event)
        elif event.kind == "retry":
            self._on_retry(event)

    def close_pending(self, end: float, *, failed: bool, note: str) -> None:
        """The unanswered request ends at `end`: a failure, or still waiting for its reply."""
        pending, self.pending = self.pending, None
        if pending is not None:
            waited = max(end - pending.sent_s, 0.0)
            bar = partial(Bar, "wait", pending.row, pending.label, pending.sent_s, waited, finalize=pending.finalize)
            self._emit(bar(note=note, failed=failed))

    def _on_request(self, event: RequestEvent) -> None:
        self.close_pending(event.at_s, failed=True, note="no reply recorded")
        key = (event.attempt, event.turn)
        self.sends[key] = sends = self.sends.get(key, 0) + 1
        label = f"turn {event.turn}" + (f" · attempt {event.attempt}" if event.attempt > 1 else "")
        label += f" · try {sends}" if sends > 1 else ""
        self.pending = _Pending(event.at_s, self._row(), label, event.finalize)

    def _on_response(self, event: ResponseEvent) -> None:
        pending, self.pending = self.pending, None
        if pending is None:  # a reply without its request (a hand-made trace): placed by its own timings
            end = event.at_s if event.at_s is not None else self.cursor + event.duration_s
            pending = _Pending(end - event.duration_s, self._row(), f"turn {event.turn}")
        for bar in _reply_bars(pending, event):
            self._emit(bar)

    def _on_tool(self, event: ToolEvent) -> None:
        start = event.at_s if event.at_s is not None else self.cursor
        note = _tool_error(event)
        self._emit(Bar("tool", self._row(), f"⚙ {event.name}", start, event.duration_s, note=note, failed=bool(note)))

    def _on_retry(self, event: RetryEvent) -> None:
        error = _error_text(event.error)
        self.close_pending(event.at_s, failed=True, note=error)
        label = "↻ retry" if event.scope == "request" else "↻ call retry"
        self._emit(Bar("retry", self._row(), label, event.at_s, event.wait_s, note=f"attempt {event.attempt}: {error}"))

    def _row(self) -> int:
        self.rows += 1
        return self.rows - 1

    def _emit(self, bar: Bar) -> None:
        self.bars.append(bar)
        self.cursor = max(self.cursor, bar.end_s)


def _reply_bars(request: _Pending, reply: ResponseEvent) -> list[Bar]:
    """A request's bars: waiting until the first token (the whole request when nothing says when
    generation began), then thinking and generation."""
    sent = request.sent_s
    end = max(reply.at_s if reply.at_s is not None else sent + reply.duration_s, sent)
    answer, source = _answer_start(reply, end)
    answer = None if answer is None else min(max(answer, sent), end)
    thought_until = end if answer is None else answer
    thought = None if reply.thinking_s is None else max(thought_until - reply.thinking_s, sent)
    first = thought_until if thought is None else thought
    bar = partial(Bar, row=request.row, label=request.label, finalize=request.finalize)
    waited = _WAIT_NOTES["stream" if thought is not None else source]  # thinking only streams
    bars = [bar("wait", start_s=sent, duration_s=first - sent, note=waited)]
    if thought is not None:
        bars.append(bar("thinking", start_s=thought, duration_s=thought_until - thought))
    if answer is not None:
        rate = _rate(reply.usage.completion_tokens, end - first)
        bars.append(bar("generation", start_s=answer, duration_s=end - answer, tokens_per_s=rate))
    return bars


def _answer_start(reply: ResponseEvent, end: float) -> tuple[float | None, Literal["stream", "server"] | None]:
    """When the answer began: the first streamed piece, else the server's own generation time."""
    if reply.ttft_s is not None:  # measured from where duration_s starts
        return end - reply.duration_s + reply.ttft_s, "stream"
    server = _server_eval_s(reply)
    return (None, None) if server is None else (end - server, "server")


def _server_eval_s(reply: ResponseEvent) -> float | None:
    """The server's own generation time (Ollama's `eval_duration`), if it gave one, within the reply's."""
    value = reply.generation_s
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        return None
    return min(value, reply.duration_s)


def _rate(tokens: int | None, seconds: float) -> float | None:
    return tokens / seconds if tokens and seconds > 0 else None


def _tool_error(event: ToolEvent) -> str:
    if event.error is None:
        return ""
    return f"@{event.contract} failed: {event.error}" if event.contract else f"error: {event.error}"


def _error_text(error: ErrorInfo | None) -> str:
    return "" if error is None else f"{error.type}: {error.message}"


def _extent(trace: Trace, bars: list[Bar]) -> float:
    """How long the trace's axis runs: its duration, or its last bar's end if that is later."""
    return max([trace.duration_s or 0.0, *(bar.end_s for bar in bars)])


def _by_row(bars: list[Bar]) -> list[list[Bar]]:
    rows: dict[int, list[Bar]] = {}
    for bar in bars:
        rows.setdefault(bar.row, []).append(bar)
    return list(rows.values())


def _offsets(shown: list[tuple[int, Trace]]) -> list[float]:
    """Each trace's start in seconds after the earliest one (0 for a timestamp that does not parse)."""
    starts = [_started(trace) for _, trace in shown]
    known = [start for start in starts if start is not None]
    earliest = min(known, default=0.0)
    return [0.0 if start is None else start - earliest for start in starts]


def _started(trace: Trace) -> float | None:
    try:
        moment = datetime.fromisoformat(trace.started_at)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


# --- HTML -------------------------------------------------------------------------------------


@dataclass
class _Scale:
    """Seconds → position classes on a 0…1000 per-mille axis; remembers which ones need a rule."""

    span_s: float
    lefts: set[int] = field(default_factory=set)
    widths: set[int] = field(default_factory=set)

    def left(self, seconds: float) -> int:
        position = _permille(seconds / self.span_s) if self.span_s > 0 else 0
        self.lefts.add(position)
        return position

    def width(self, left: int, seconds: float) -> int:
        size = min(_permille(seconds / self.span_s) if self.span_s > 0 else 0, 1000 - left)
        self.widths.add(size)
        return size

    def css(self) -> str:
        lefts = "".join(f".alloy-trace .at-tl-x{x}{{left:{x / 10:g}%}}" for x in sorted(self.lefts))
        return lefts + "".join(f".alloy-trace .at-tl-w{w}{{width:{w / 10:g}%}}" for w in sorted(self.widths))


def _permille(fraction: float) -> int:
    return min(max(round(fraction * 1000), 0), 1000)


def _chart(title: str, rows: str, scale: _Scale, extra_class: str = "") -> str:
    """Title, rows, axis and legend, with a rule for each position the rows and axis use."""
    axis = _axis(scale)  # placed before the rules are written
    return (
        f'<div class="at-tl{extra_class}"><style>{_CSS}{scale.css()}</style><div class="at-tl-title">{visible_html(title)}</div>'
        f'<div class="at-tl-grid">{rows}{axis}</div>{_legend()}</div>'
    )


def _trace_row(bars: list[Bar], scale: _Scale) -> str:
    first = bars[0]
    finalize = '<span class="at-tl-fin">finalize</span>' if first.finalize else ""
    label = f"{visible_html(first.label)}{finalize}"
    return _row(label, "".join(_bar(bar, 0.0, scale) for bar in bars), _row_note(bars))


def _batch_row(index: int, trace: Trace, bars: list[Bar], offset: float, scale: _Scale) -> str:
    shown = "".join(_bar(bar, offset, scale) for bar in bars)
    requests = len(trace.requests)
    note = f"{duration_text(trace.duration_s)} · {trace.status} · {requests} request{'' if requests == 1 else 's'}"
    return _row(visible_html(f"#{index} · {trace.host}"), shown, note)


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
