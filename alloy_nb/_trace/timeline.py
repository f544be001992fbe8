"""Timelines as data: a call's requests, tool runs and retry waits as bars on one time axis.

`timeline_bars` pairs each request with its reply or failure and places the waiting, thinking,
generation, tool and retry spans in seconds since the trace started; `_views/timeline.py` draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # (types only: the trace model imports the view that imports this)
    from .events import AnyEvent, ErrorInfo, RequestEvent, ResponseEvent, RetryEvent, ToolEvent
    from .model import Trace

BarKind = Literal["wait", "thinking", "generation", "tool", "retry"]


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


def extent(trace: Trace, bars: list[Bar]) -> float:
    """How long the trace's axis runs: its duration, or its last bar's end if that is later."""
    return max([trace.duration_s or 0.0, *(bar.end_s for bar in bars)])


def by_row(bars: list[Bar]) -> list[list[Bar]]:
    """The bars grouped by row, rows in order."""
    rows: dict[int, list[Bar]] = {}
    for bar in bars:
        rows.setdefault(bar.row, []).append(bar)
    return list(rows.values())


def start_offsets(traces: Sequence[Trace]) -> list[float]:
    """Each trace's start in seconds after the earliest one (0 for a timestamp that does not parse)."""
    starts = [_started(trace) for trace in traces]
    known = [start for start in starts if start is not None]
    earliest = min(known, default=0.0)
    return [0.0 if start is None else start - earliest for start in starts]


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


def _started(trace: Trace) -> float | None:
    try:
        moment = datetime.fromisoformat(trace.started_at)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
