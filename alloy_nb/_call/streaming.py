"""Streaming: `ask.stream` / `cmd.stream` and their async twins, with the call's trace.

A stream runs the whole call (`stream_run.py`): the text of every turn as it comes, the tools the
model asks for between turns. Iterating a stream gives the text pieces; `.events()` also gives the
thinking, the tool calls and their results (see `StreamEvent`). A typed call streams its JSON as
text: `.partial` is the value it describes so far (pydantic's partial validation, parsed only when
read), `.value` the validated value at the end, as the call without `.stream` returns it.
"""

from __future__ import annotations

import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import Any

from .._trace import Trace
from .conversation import CallSpec
from .drivers import fitted
from .stream_run import StreamEvent, StreamRun


def stream(spec: CallSpec) -> TextStream:
    """Start a synchronous stream (fitted to the model now; the request goes out on first iteration)."""
    text_stream = TextStream(StreamRun(fitted(spec)))
    _open_streams.add(text_stream)
    return text_stream


# Streams not finished yet: a Ctrl-C in the body of `for piece in stream` never reaches the stream,
# so a front end that sees the interrupt closes them (their traces then say "interrupted").
_open_streams: weakref.WeakSet[TextStream] = weakref.WeakSet()


def close_open_streams() -> int:
    """Close every synchronous stream still open in this process; returns how many were."""
    streams = list(_open_streams)
    for text_stream in streams:
        text_stream.close()
    return len(streams)


def stream_async(spec: CallSpec) -> AsyncTextStream:
    """Start an async stream (fitted to the model and sent on first iteration)."""
    run = StreamRun(spec)
    run.asks_host = False
    return AsyncTextStream(run)


class _Stream(ABC):
    """What both stream kinds share: the run, `.trace`, `.text` (every turn's text so far), `.partial`
    and `.value`."""

    def __init__(self, run: StreamRun) -> None:
        self._run = run
        self._events = self._generate()

    @abstractmethod
    def _generate(self) -> Any:
        """The generator (sync or async) of the call's events."""

    def _close_unread(self) -> None:
        """A stream closed before it was read sent nothing: its trace says interrupted."""
        if not self._run.begun and self.trace.status == "running":
            self._run.close(KeyboardInterrupt())

    @property
    def trace(self) -> Trace:
        return self._run.trace

    @property
    def text(self) -> str:
        return self._run.text()

    @property
    def thinking(self) -> str:
        """The model's thinking so far (thinking models stream it before the answer)."""
        return self._run.thinking()

    @property
    def partial(self) -> Any:
        """The value the reply describes so far: for a typed call, the latest that validates as the JSON
        grows (None until one does), then `.value`; for text, the current turn's text."""
        return self._run.partial()

    @property
    def value(self) -> Any:
        """The call's value once the stream has ended well (the last turn's text, or its JSON validated,
        as the call without .stream returns it); None before."""
        return self._run.value


class TextStream(_Stream):
    """Iterate to get text pieces as they arrive; `.trace` records the call; `.text` is all so far."""

    def _generate(self) -> Generator[StreamEvent, None, None]:
        try:
            yield from self._run.events()
        finally:
            _open_streams.discard(self)

    def __iter__(self) -> TextStream:
        return self

    def __next__(self) -> str:
        while True:
            kind, piece = next(self._events)
            if kind == "text":
                return str(piece)

    def events(self) -> Generator[StreamEvent, None, None]:
        """The call's events as they happen, instead of the text alone (see `StreamEvent`)."""
        events: Generator[StreamEvent, None, None] = self._events
        return events

    def close(self) -> None:
        """Stop early: the request is closed and the trace marked interrupted."""
        _open_streams.discard(self)
        self._close_unread()
        self._events.close()

    def __enter__(self) -> TextStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncTextStream(_Stream):
    """`async for` twin of TextStream."""

    def _generate(self) -> AsyncGenerator[StreamEvent, None]:
        return self._run.events_async()

    def __aiter__(self) -> AsyncTextStream:
        return self

    async def __anext__(self) -> str:
        while True:
            kind, piece = await self._events.__anext__()
            if kind == "text":
                return str(piece)

    def events(self) -> AsyncGenerator[StreamEvent, None]:
        """`async for kind, item in stream.events()`: the call's events as they happen (see `StreamEvent`)."""
        events: AsyncGenerator[StreamEvent, None] = self._events
        return events

    async def aclose(self) -> None:
        """Stop early: the request is closed and the trace marked interrupted."""
        self._close_unread()
        await self._events.aclose()

    async def __aenter__(self) -> AsyncTextStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class PendingAsyncTextStream:
    """`async for piece in cmd.stream(...)` for an async command: its prompt is awaited on the
    first iteration, then this is that call's `AsyncTextStream` (`.trace` is None until then)."""

    def __init__(self, start: Callable[[], Awaitable[AsyncTextStream]]) -> None:
        self._start = start
        self._stream: AsyncTextStream | None = None

    async def _started(self) -> AsyncTextStream:
        if self._stream is None:
            self._stream = await self._start()
        return self._stream

    @property
    def trace(self) -> Trace | None:
        return self._stream.trace if self._stream is not None else None

    @property
    def text(self) -> str:
        return self._stream.text if self._stream is not None else ""

    @property
    def partial(self) -> Any:
        return self._stream.partial if self._stream is not None else None

    @property
    def value(self) -> Any:
        return self._stream.value if self._stream is not None else None

    def __aiter__(self) -> PendingAsyncTextStream:
        return self

    async def __anext__(self) -> str:
        return await (await self._started()).__anext__()

    def events(self) -> PendingEvents:
        """`async for kind, item in stream.events()`: the call's events as they happen."""
        return PendingEvents(self._started, self.aclose)

    async def aclose(self) -> None:
        if self._stream is not None:
            await self._stream.aclose()

    async def __aenter__(self) -> PendingAsyncTextStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class PendingEvents:
    """The events of a `PendingAsyncTextStream`, its call started on the first read: closing them closes
    the call, as closing an `AsyncTextStream`'s own events does. (Not an async generator: one wrapped
    around the call's would be closed beside it when `asyncio.run` ends, each closing the other.)"""

    def __init__(self, started: Callable[[], Awaitable[AsyncTextStream]], close: Callable[[], Awaitable[None]]) -> None:
        self._started, self._close = started, close
        self._events: AsyncGenerator[StreamEvent, None] | None = None

    def __aiter__(self) -> PendingEvents:
        return self

    async def __anext__(self) -> StreamEvent:
        if self._events is None:
            self._events = (await self._started()).events()
        return await self._events.__anext__()

    async def aclose(self) -> None:
        await self._close()
