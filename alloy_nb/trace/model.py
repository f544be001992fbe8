"""Trace: the plain-data record of one call, every request exactly as sent and every reply."""

from __future__ import annotations

import itertools
import json
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python

from ..images import ImageRecord
from ..messages import (
    MESSAGE_TYPES,
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolResult,
    UserMessage,
    prompt_of,
)
from ..nesting import MAX_NESTING, cut_deeper_than, value_depth
from ..visible import visible

Status = Literal["running", "ok", "error", "interrupted"]

_PROCESS_ID = secrets.token_hex(4)  # trace ids: a random prefix per process, then a call counter
_call_numbers = itertools.count(1)


@dataclass(slots=True, kw_only=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


NeutralMessage = Annotated[SystemMessage | UserMessage | AssistantMessage | ToolResult, Field(discriminator="role")]


@dataclass(slots=True, kw_only=True)
class RequestEvent:
    """A request: `messages` is the conversation it carried, in neutral form; `body` is the JSON the
    HTTP client put on the wire (no headers)."""

    kind: Literal["request"] = "request"
    turn: int
    endpoint: str
    url: str
    messages: list[NeutralMessage] = field(default_factory=list)
    body: Any = None
    finalize: bool = False
    attempt: int = 1  # which attempt of the call (see `retry`) this request belongs to
    at_s: float = 0.0


@dataclass(slots=True, kw_only=True)
class ResponseEvent:
    """A reply, parsed into text and tool calls, with its token counts and timings."""

    kind: Literal["response"] = "response"
    turn: int
    text: str = ""
    thinking: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    done_reason: str | None = None
    duration_s: float = 0.0
    generation_s: float | None = None  # the server's own time generating (Ollama's eval_duration), if it said
    ttft_s: float | None = None
    thinking_s: float | None = None  # streamed: from the first thinking piece to the first piece of the answer
    thinking_pieces: int | None = None  # streamed: thinking pieces received (Ollama sends about one token each)
    at_s: float | None = None  # when the reply was complete, seconds since the trace started (None: not recorded)
    raw: Any = None


@dataclass(slots=True, kw_only=True)
class ToolEvent:
    """One tool execution: the arguments as received and either its result or its error."""

    kind: Literal["tool"] = "tool"
    turn: int
    call_id: str
    name: str
    arguments: Any = None
    result: str | None = None
    error: str | None = None
    contract: Literal["require", "ensure"] | None = None  # set when a tool contract failed
    duration_s: float = 0.0
    at_s: float | None = None  # when the run started, seconds since the trace started (None: not recorded)


@dataclass(slots=True, kw_only=True)
class ErrorInfo:
    type: str
    message: str


@dataclass(slots=True, kw_only=True)
class RetryEvent:
    """A failure that is tried again: one request (`scope="request"`, a transient fault) or the whole
    call (`scope="call"`, the `retry` setting), after waiting `wait_s`."""

    kind: Literal["retry"] = "retry"
    scope: Literal["request", "call"]
    attempt: int  # the attempt that failed, from 1
    turn: int | None = None
    error: ErrorInfo
    wait_s: float
    at_s: float = 0.0


_RECORDS = (Usage, RequestEvent, ResponseEvent, ToolEvent, ErrorInfo, RetryEvent, *MESSAGE_TYPES)
_WITH_FIELDS = (BaseModel, *_RECORDS)

Event = Annotated[RequestEvent | ResponseEvent | ToolEvent | RetryEvent, Field(discriminator="kind")]
AnyEvent = RequestEvent | ResponseEvent | ToolEvent | RetryEvent


class Trace(BaseModel):
    """Everything one `ask`/`command` call did; JSON-serialisable and loadable."""

    id: str = Field(default_factory=lambda: f"{_PROCESS_ID}{next(_call_numbers):04x}")
    started_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="milliseconds"))
    model: str
    strategy: str
    host: str
    output_type: str = "str"
    settings: dict[str, Any] = Field(default_factory=dict)  # the call's request settings that were set (replayed)
    tools: list[str] = Field(default_factory=list)
    tool_schemas: list[dict[str, Any]] = Field(default_factory=list)  # each tool's name, description, parameters
    stream: bool = False
    images: list[ImageRecord] = Field(default_factory=list)  # the call's images: type, size, sha256, thumbnail
    warnings: list[str] = Field(default_factory=list)  # e.g. a prompt that filled the context window
    events: list[Event] = Field(default_factory=list)
    status: Status = "running"
    result: Any = None
    error: ErrorInfo | None = None
    duration_s: float | None = None
    # Bookkeeping, not part of the JSON (plain fields: pydantic's private attributes are slow to read).
    max_chars: int = Field(default=200_000, exclude=True, repr=False, description="Longer strings are cut.")
    clock_start: float = Field(default_factory=time.perf_counter, exclude=True, repr=False)

    def model_post_init(self, context: Any) -> None:
        """The call's thumbnails obey the trace's string limit too (one too long is dropped, saying so)."""
        if _has_long_string(self.images, self.max_chars):
            self.images = capped(self.images, self.max_chars)

    def elapsed(self) -> float:
        """Seconds since the trace started (for event timestamps)."""
        return time.perf_counter() - self.clock_start

    @property
    def requests(self) -> list[RequestEvent]:
        return [e for e in self.events if isinstance(e, RequestEvent)]

    @property
    def responses(self) -> list[ResponseEvent]:
        return [e for e in self.events if isinstance(e, ResponseEvent)]

    @property
    def tool_events(self) -> list[ToolEvent]:
        return [e for e in self.events if isinstance(e, ToolEvent)]

    @property
    def retries(self) -> list[RetryEvent]:
        return [e for e in self.events if isinstance(e, RetryEvent)]

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

    @property
    def usage(self) -> Usage:
        """Token counts summed over every response."""
        return Usage(
            prompt_tokens=sum(r.usage.prompt_tokens or 0 for r in self.responses),
            completion_tokens=sum(r.usage.completion_tokens or 0 for r in self.responses),
        )

    def finish(self, status: Status, result: Any = None, error: BaseException | None = None) -> None:
        """Record the outcome; the result is stored in JSON form."""
        self.status = status
        self.duration_s = round(self.elapsed(), 6)
        if error is not None:
            self.error = self.error_info(error)
        elif status == "ok":
            self.result = self.cap(to_jsonable_python(result, fallback=repr))
        _keep_latest(self)

    def error_info(self, error: BaseException) -> ErrorInfo:
        return ErrorInfo(type=type(error).__name__, message=self.cap(str(error) or type(error).__name__))

    def add(self, event: AnyEvent, *, wire_size: int | None = None) -> None:
        """Append an event with its long strings cut; none is looked for when the event came from
        `wire_size` bytes on the wire and those fit the limit (no string inside can be longer)."""
        if wire_size is None or wire_size > self.max_chars:
            _cap_fields(event, self.max_chars)
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
            return self.model_dump_json(indent=indent)
        except (ValueError, RecursionError):  # pydantic's serialization depth limit, or Python's
            return json.dumps(cut_deeper_than(_plain(self)), indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Trace:
        return cls.model_validate_json(text)

    def summary(self) -> str:
        """A compact, line-per-event text view; control and invisible characters shown (see `visible`)."""
        lines = [
            f"Trace {self.id} · {self.model} via {self.strategy} · {self.status}"
            + (f" in {self.duration_s:.2f}s" if self.duration_s is not None else "")
        ]
        for event in self.events:
            lines.append("  " + _event_line(event))
        lines += [f"  ⚠ {warning}" for warning in self.warnings]
        if self.error:
            lines.append(f"  ✗ {self.error.type}: {_short(self.error.message, 160)}")
        elif self.status == "ok":
            lines.append(f"  = {_short(repr(self.result), 160)}")
        return visible("\n".join(lines))

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """Notebook view: the conversation as escaped, script-free HTML."""
        from .html import trace_html

        try:
            return trace_html(self)
        except (ValueError, RecursionError):  # deeply nested data: show the trace as it is kept in JSON
            return trace_html(Trace.from_json(self.to_json()))

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython plain-text view: the summary."""
        p.text(self.summary())


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


def _plain(model: BaseModel) -> Any:
    """A model's fields as plain data, without recursion (for data too deep for pydantic to dump)."""
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(model, root, 0)]
    while stack:
        item, parent, key = stack.pop()
        if isinstance(item, _WITH_FIELDS):
            parent[key] = record = dict[str, Any]()
            stack.extend((getattr(item, name), record, name) for name in _field_names(item))
        elif isinstance(item, dict):
            parent[key] = mapping = dict[Any, Any]()
            stack.extend((child, mapping, name) for name, child in item.items())
        elif isinstance(item, (list, tuple)):
            parent[key] = items = [None] * len(item)
            stack.extend((child, items, index) for index, child in enumerate(item))
        else:
            parent[key] = item
    return root[0]


_DATA_URI = re.compile(r"data:[\w.+-]+/[\w.+-]+(?:;[\w.+-]+=[\w.+-]+)*;base64,")


def capped(value: Any, limit: int) -> Any:
    """`value` with every string longer than `limit` cut, saying how much was cut; a data URI (an image)
    is not cut but replaced by the note, as half of one shows nothing and breaks where it is used.

    Nothing is copied when nothing is too long; models inside are cut in place.

    >>> capped("data:image/png;base64," + "A" * 200, 100)
    '[a data URI of 222 characters, not kept in the trace; trace_max_chars=100]'
    """
    if not _has_long_string(value, limit):
        return value
    if isinstance(value, (dict, list)) and value_depth(value) > MAX_NESTING:  # cutting recurses per level
        value = cut_deeper_than(value)
    if isinstance(value, str):
        if _DATA_URI.match(value):
            return f"[a data URI of {len(value)} characters, not kept in the trace; trace_max_chars={limit}]"
        return (
            value[:limit] + f"… [{len(value) - limit} more characters not kept in the trace; trace_max_chars={limit}]"
        )
    if isinstance(value, dict):
        return {key: capped(item, limit) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(capped(item, limit) for item in value)
    if isinstance(value, MESSAGE_TYPES):  # frozen, and shared with the running call: cut a copy
        return replace(value, **{name: capped(getattr(value, name), limit) for name in _field_names(value)})
    _cap_fields(value, limit)
    return value


def _cap_fields(record: Any, limit: int) -> None:
    for name in _field_names(record):
        item = getattr(record, name)
        if _has_long_string(item, limit):
            setattr(record, name, capped(item, limit))


def _field_names(record: Any) -> list[str]:
    """The fields a record or model keeps in its JSON."""
    if isinstance(record, BaseModel):
        return [name for name, info in type(record).model_fields.items() if not info.exclude]
    return [f.name for f in fields(record)]


def _has_long_string(value: Any, limit: int) -> bool:
    """Whether a string longer than `limit` is anywhere in `value` (found without recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if len(item) > limit:
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, _RECORDS):
            stack.extend(getattr(item, name) for name in _field_names(item))
        elif isinstance(item, BaseModel):
            stack.extend(item.__dict__.values())
    return False


def _event_line(event: AnyEvent) -> str:
    if isinstance(event, RetryEvent):
        what = "request" if event.scope == "request" else "call"
        return f"↻ {what} attempt {event.attempt} failed ({event.error.type}); again in {event.wait_s:.2f}s"
    if isinstance(event, RequestEvent):
        kind = "finalize request" if event.finalize else "request"
        messages = len(event.messages)
        return f"[{event.turn}] → {kind} {event.endpoint} ({messages} message{'' if messages == 1 else 's'})"
    if isinstance(event, ResponseEvent):
        calls = ", ".join(f"{c.name}({_short(str(c.arguments), 60)})" for c in event.tool_calls)
        tokens = f"{event.usage.prompt_tokens or 0}+{event.usage.completion_tokens or 0} tok"
        body = f"tool calls: {calls}" if calls else _short(repr(event.text), 80)
        return f"[{event.turn}] ← {body} · {tokens} · {event.duration_s:.2f}s"
    outcome = f"error: {_short(event.error, 80)}" if event.error else _short(repr(event.result), 80)
    return f"[{event.turn}] ⚙ {event.name} → {outcome} · {event.duration_s * 1000:.1f}ms"


def _short(text: str | None, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


_history: deque[Trace] = deque(maxlen=100)


def remember(trace: Trace, keep: int = 100) -> None:
    """Add a trace to the recent-calls history, which holds the last `keep` traces."""
    global _history
    if _history.maxlen != keep:
        _history = deque(_history, maxlen=keep)
    _history.append(trace)


def _keep_latest(trace: Trace) -> None:
    """A call that finishes becomes the latest, after any call it made itself (a tool calling ask)."""
    if not _history or _history[-1] is trace:
        return
    for index, kept in enumerate(_history):
        if kept is trace:
            del _history[index]
            _history.append(trace)
            return


def last_trace() -> Trace | None:
    """The trace of the call finished last in this process, or of the one running (None with `trace_history=0`)."""
    return _history[-1] if _history else None


def recent_traces() -> list[Trace]:
    """Recent traces, oldest first (at most `trace_history` of them, 100 by default)."""
    return list(_history)
