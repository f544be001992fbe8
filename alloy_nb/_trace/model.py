"""Trace: the plain-data record of one call, every request exactly as sent and every reply."""

from __future__ import annotations

import functools
import itertools
import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, TypeAdapter
from pydantic_core import to_jsonable_python

from .._hooks import call_finished
from .._images import ImageRecord
from .._messages import Message, prompt_of
from .._nesting import cut_deeper_than
from .._visible import visible
from .capping import cap_fields, capped, has_long_string, plain_data
from .constraints import request_constraints
from .events import (
    AnyEvent,
    ErrorInfo,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    ToolEvent,
    TraceEvent,
    Usage,
)
from .recent import keep_latest
from .summary_lines import event_line, short
from .tokens import TokenTable

Status = Literal["running", "ok", "error", "interrupted"]
E = TypeVar("E", bound=AnyEvent)

_PROCESS_ID = secrets.token_hex(4)  # trace ids: a random prefix per process, then a call counter
_call_numbers = itertools.count(1)


def _new_id() -> str:
    return f"{_PROCESS_ID}{next(_call_numbers):04x}"


_second: tuple[int, str] = (0, "")  # the last whole second formatted, shared by the calls within it


def _now() -> str:
    """The time in UTC as ISO 8601 with milliseconds, as `datetime.isoformat` writes it, in a third of
    its time (every call pays it): the date and the second are formatted once per second.

    >>> import re; bool(re.fullmatch(r"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\+00:00", _now()))
    True
    """
    global _second
    now = time.time()
    whole = int(now)
    micro = round((now - whole) * 1_000_000)  # to the microsecond first, as datetime does
    if micro == 1_000_000:
        whole, micro = whole + 1, 0
    second = _second  # one read of the shared pair: another thread may replace it
    if second[0] != whole:
        second = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{second[1]}.{micro // 1000:03d}+00:00"


# A bookkeeping field: pydantic keeps it out of the JSON (`Field(exclude=True)`), this mark out of the
# plain data (`capping._field_names`).
_BOOKKEEPING = {"bookkeeping": True}


@dataclass(slots=True, kw_only=True)
class Trace:
    """Everything one `ask`/`command` call did; JSON-serialisable and loadable.

    A plain slotted record, cheap to write while the call runs; pydantic reads and writes its JSON
    (`to_json`, `from_json`) only when asked."""

    id: str = field(default_factory=_new_id)
    started_at: str = field(default_factory=_now)
    model: str
    strategy: str
    host: str
    output_type: str = "str"
    request_settings: dict[str, Any] = field(default_factory=dict)  # the request settings that were set (replayed)
    tools: list[str] = field(default_factory=list)
    tool_schemas: list[dict[str, Any]] = field(default_factory=list)  # each tool's name, description, parameters
    stream: bool = False
    images: list[ImageRecord] = field(default_factory=list)  # the call's images: type, size, sha256, thumbnail
    warnings: list[str] = field(default_factory=list)  # e.g. a prompt that filled the context window
    events: list[TraceEvent] = field(default_factory=list)
    status: Status = "running"
    result: Any = None
    error: ErrorInfo | None = None
    duration_s: float | None = None
    # Bookkeeping, not part of the JSON: the longest string kept, and the clock the events are timed by.
    max_chars: Annotated[int, Field(exclude=True)] = field(
        default=200_000, repr=False, compare=False, metadata=_BOOKKEEPING
    )
    clock_start: Annotated[float, Field(exclude=True)] = field(
        default_factory=time.perf_counter, repr=False, compare=False, metadata=_BOOKKEEPING
    )

    def __post_init__(self) -> None:
        """The call's thumbnails obey the trace's string limit too (one too long is dropped, saying so)."""
        if self.images and has_long_string(self.images, self.max_chars):
            self.images = capped(self.images, self.max_chars)

    def elapsed(self) -> float:
        """Seconds since the trace started (for event timestamps)."""
        return time.perf_counter() - self.clock_start

    def _of_kind(self, kind: type[E]) -> list[E]:
        """The events of one kind (`RequestEvent`, `ResponseEvent`, ...), in order."""
        return [e for e in self.events if isinstance(e, kind)]

    @property
    def requests(self) -> list[RequestEvent]:
        return self._of_kind(RequestEvent)

    @property
    def responses(self) -> list[ResponseEvent]:
        return self._of_kind(ResponseEvent)

    @property
    def tool_events(self) -> list[ToolEvent]:
        return self._of_kind(ToolEvent)

    @property
    def retries(self) -> list[RetryEvent]:
        return self._of_kind(RetryEvent)

    def first_messages(self) -> list[Message]:
        """The conversation the call began with (system prompt, earlier exchanges, prompt)."""
        requests = self.requests
        return list(requests[0].messages) if requests else []

    def prompt(self) -> str:
        """The text of the call's prompt (its first request's last user message)."""
        prompt = prompt_of(self.first_messages())
        return prompt.text if prompt is not None else ""

    def reply_text(self) -> str:
        """The call's final text: its result when a string, its result as JSON when typed, else its last reply."""
        if isinstance(self.result, str):
            return self.result
        if self.result is not None:
            return json.dumps(self.result, indent=2, ensure_ascii=False, default=str)
        responses = self.responses
        return responses[-1].text if responses else ""

    def tokens(self) -> TokenTable:
        """The last reply's tokens with their probabilities (empty unless the call set `logprobs`)."""
        replies = [r for r in self.responses if r.tokens is not None]
        return TokenTable(replies[-1].tokens or [] if replies else [])

    @property
    def usage(self) -> Usage:
        """Token counts summed over every response."""
        return Usage(
            prompt_tokens=sum(r.usage.prompt_tokens or 0 for r in self.responses),
            completion_tokens=sum(r.usage.completion_tokens or 0 for r in self.responses),
        )

    def finish(self, status: Status, result: Any = None, error: BaseException | None = None) -> None:
        """Record the outcome (the result in JSON form) and tell the installed hooks the call ended."""
        self.status = status
        self.duration_s = round(self.elapsed(), 6)
        if error is not None:
            self.error = self.error_info(error)
        elif status == "ok":
            self.result = self.cap(to_jsonable_python(result, fallback=repr))
        keep_latest(self)
        call_finished(self)  # instrumentation (alloy_nb._hooks): nothing when none is installed

    def error_info(self, error: BaseException) -> ErrorInfo:
        return ErrorInfo(type=type(error).__name__, message=self.cap(str(error) or type(error).__name__))

    def add(self, event: AnyEvent, *, wire_size: int | None = None) -> None:
        """Append an event with its long strings cut; none is looked for when the event came from
        `wire_size` bytes on the wire and those fit the limit (no string inside can be longer)."""
        if wire_size is None or wire_size > self.max_chars:
            cap_fields(event, self.max_chars)
        self.events.append(event)
        for observer in _observers.get():
            try:
                observer(self, event)
            except Exception:  # a broken status display must not break the call
                pass

    def cap(self, value: Any, wire_size: int | None = None) -> Any:
        """`value` with strings longer than this trace's limit cut (unchecked when `wire_size` fits)."""
        if wire_size is not None and wire_size <= self.max_chars:
            return value
        return capped(value, self.max_chars)

    def to_json(self, indent: int | None = 2) -> str:
        """The trace as JSON; data nested deeper than MAX_NESTING is cut (with a note) to stay serialisable."""
        try:
            return _adapter().dump_json(self, indent=indent).decode()
        except (ValueError, RecursionError):  # pydantic's serialization depth limit, or Python's
            return json.dumps(cut_deeper_than(plain_data(self)), indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Trace:
        return _adapter().validate_json(text)

    def to_dict(self) -> dict[str, Any]:
        """The trace as the plain data its JSON holds."""
        return _adapter().dump_python(self, mode="json")  # type: ignore[no-any-return]

    def summary(self) -> str:
        """A compact, line-per-event text view; control and invisible characters shown (see `visible`)."""
        lines = [
            f"Trace {self.id} · {self.model} via {self.strategy} · {self.status}"
            + (f" in {self.duration_s:.2f}s" if self.duration_s is not None else "")
        ]
        typed = self.output_type != "str"
        for event in self.events:
            lines.append("  " + event_line(event))
            if isinstance(event, RequestEvent) and (constraints := request_constraints(event.body, typed_output=typed)):
                lines.append(f"      constraints: {constraints}")
        lines += [f"  ⚠ {warning}" for warning in self.warnings]
        if self.error:
            lines.append(f"  ✗ {self.error.type}: {short(self.error.message, 160)}")
        elif self.status == "ok":
            lines.append(f"  = {short(repr(self.result), 160)}")
        return visible("\n".join(lines))

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """Notebook view: the conversation as escaped, script-free HTML."""
        from .._views.trace import trace_html

        try:
            return trace_html(self)
        except (ValueError, RecursionError):  # deeply nested data: show the trace as it is kept in JSON
            return trace_html(Trace.from_json(self.to_json()))

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython plain-text view: the summary."""
        p.text(self.summary())


@functools.cache
def _adapter() -> TypeAdapter[Trace]:
    """The JSON reader and writer of traces, built on first use (not on import)."""
    return TypeAdapter(Trace)


Observer = Callable[[Trace, AnyEvent], None]
_observers: ContextVar[tuple[Observer, ...]] = ContextVar("alloy_nb_trace_observers", default=())


@contextmanager
def observing(observer: Observer) -> Iterator[None]:
    """Call `observer(trace, event)` for every event of the calls made inside the block (in this
    thread or task): a request about to be sent, a reply, a tool about to run."""
    token = _observers.set((*_observers.get(), observer))
    try:
        yield
    finally:
        _observers.reset(token)
