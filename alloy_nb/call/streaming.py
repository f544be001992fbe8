"""Text streaming: `ask.stream` / `cmd.stream` and their async twins, with the call's trace.

Streaming is text only (no tools, no typed output). Pieces are collected in O(1) each; the
trace is written once, when the stream ends, is closed early, or fails.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any

from ..config import redact_host
from ..errors import ConfigurationError, no_valid_chunks
from ..strategies import Exchange, StreamChunk, Turn, strategy_for
from ..strategies.inline_thinking import InlineThinkingStream
from ..trace import Trace
from .conversation import CallSpec
from .drivers import (
    finish_ok,
    fitted,
    fitted_async,
    note_context,
    record_failure,
    recording_request,
    response_event,
    retry_wait,
    start_trace,
)
from .retries import RetryPolicy

Piece = tuple[str, str]  # ("thinking" | "text", the piece)


def check_streamable(spec: CallSpec) -> None:
    """Streaming is text only: refuse tools or typed output before any request is sent."""
    if spec.tools or not spec.output.is_text:
        what = "tools" if spec.tools else f"output type {spec.output.type_name}"
        raise ConfigurationError(
            f"Streaming is for plain text only, and this call has {what}. "
            "Call it without .stream(...) to get the typed value or to run tools."
        )


class _StreamRecorder:
    """Collects a stream's pieces in O(1) per piece and writes the trace when it ends."""

    def __init__(self, spec: CallSpec) -> None:
        self.trace = start_trace(spec, strategy_for(spec.config), stream=True)
        self.use(spec)
        self.policy = RetryPolicy.of(spec.config)
        self.asks_host = True  # async streams set False: they close inside the event loop
        self.pieces: list[str] = []
        self.thoughts: list[str] = []  # the model's reasoning, never part of the text
        self.received = False
        self.last: StreamChunk | None = None
        self.ttft: float | None = None
        self.first_thought: float | None = None  # perf_counter() of the first thinking piece
        self.inline = InlineThinkingStream()  # `<think>…</think>` written into the content
        self.started = time.perf_counter()

    def use(self, spec: CallSpec) -> None:
        """Send `spec` (set again once an async stream has fitted it to the model)."""
        self.spec = spec
        self.config = spec.config
        self.strategy = strategy_for(spec.config)
        self.send = spec.send(self.strategy, spec.first_messages(), stream=True)

    def opened(self) -> tuple[Generator[StreamChunk, None, None], list[StreamChunk]]:
        """The chunk iterator and its first chunk (none for an empty stream). The request goes on
        the wire with the first chunk, so a transient fault before it is retried as the policy allows."""
        failed = 0
        while True:
            exchange = Exchange()
            chunks = self.strategy.stream(self.send.request, exchange)
            try:
                with self._sending(exchange):
                    return chunks, list(itertools.islice(chunks, 1))
            except BaseException as exc:
                chunks.close()
                failed += 1
                wait = retry_wait(self.trace, self.policy, "request", failed, exc, 0)
            time.sleep(wait)

    async def opened_async(self) -> tuple[AsyncGenerator[StreamChunk, None], StreamChunk | None]:
        """`opened` for async streams."""
        failed = 0
        while True:
            exchange = Exchange()
            chunks = self.strategy.stream_async(self.send.request, exchange)
            try:
                with self._sending(exchange):
                    return chunks, await anext(chunks, None)
            except BaseException as exc:
                await chunks.aclose()
                failed += 1
                wait = retry_wait(self.trace, self.policy, "request", failed, exc, 0)
            await asyncio.sleep(wait)

    @contextmanager
    def _sending(self, exchange: Exchange) -> Iterator[None]:
        with recording_request(self.trace, self.strategy, self.send, exchange):
            yield

    def pieces_of(self, chunk: StreamChunk) -> list[Piece]:
        """Take a chunk; what it adds, thinking first (a chunk rarely carries both)."""
        return self._taken(self.inline.chunk(chunk))

    def rest(self) -> list[Piece]:
        """What the inline-thinking splitter still holds when a stream ends without a done chunk."""
        last = self.inline.flush()
        return self._taken(last) if last is not None else []

    def _taken(self, chunk: StreamChunk) -> list[Piece]:
        self.take(chunk)
        found: list[Piece] = []
        if chunk.thinking:
            found.append(("thinking", chunk.thinking))
        if chunk.text:
            found.append(("text", chunk.text))
        return found

    def take(self, chunk: StreamChunk) -> None:
        self.received = True
        if chunk.text:
            if self.ttft is None:
                self.ttft = round(time.perf_counter() - self.started, 6)
            self.pieces.append(chunk.text)
        if chunk.thinking:
            if self.first_thought is None:
                self.first_thought = time.perf_counter()
            self.thoughts.append(chunk.thinking)
        if chunk.done:
            self.last = chunk

    def check_complete(self) -> None:
        """A stream that ended without one chunk of the API's shape (e.g. an HTML page) is an error."""
        if not self.received:
            raise no_valid_chunks(redact_host(self.config.host))

    def close(self, error: BaseException | None) -> None:
        last = self.last or StreamChunk()
        turn = Turn(
            text="".join(self.pieces),
            thinking="".join(self.thoughts) or None,
            prompt_tokens=last.prompt_tokens,
            completion_tokens=last.completion_tokens,
            done_reason=last.done_reason,
        )
        if self.received:  # a failure before the first chunk has no reply to record
            event = response_event(turn, 0, time.perf_counter() - self.started, self.ttft, at_s=self.trace.elapsed())
            if self.first_thought is not None:  # thinking lasts until the answer starts (or the stream ends)
                answer_started = self.started + self.ttft if self.ttft is not None else time.perf_counter()
                event.thinking_s = round(answer_started - self.first_thought, 6)
                event.thinking_pieces = len(self.thoughts)
            self.trace.add(event)
        if error is None or isinstance(error, Exception):  # async streams never block their loop on /api/ps
            note_context(self.trace, self.config, ask_host=self.asks_host)
        if error is None:
            finish_ok(self.trace, turn.text, self.config)
        else:
            record_failure(self.trace, error, self.config)


def stream(spec: CallSpec) -> TextStream:
    """Start a synchronous text stream (validated now; the request goes out on first iteration)."""
    check_streamable(spec)
    text_stream = TextStream(_StreamRecorder(fitted(spec)))
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
    """Start an async text stream (validated now, fitted to the model and sent on first iteration)."""
    check_streamable(spec)
    recorder = _StreamRecorder(spec)
    recorder.asks_host = False
    return AsyncTextStream(recorder)


class _Stream(ABC):
    """What both stream kinds share: the recorder, `.trace` and `.text` (all text so far)."""

    def __init__(self, recorder: _StreamRecorder) -> None:
        self._recorder = recorder
        self._pieces = self._generate()

    @abstractmethod
    def _generate(self) -> Any:
        """The generator (sync or async) that yields the text pieces."""

    @property
    def trace(self) -> Trace:
        return self._recorder.trace

    @property
    def text(self) -> str:
        return "".join(self._recorder.pieces)

    @property
    def thinking(self) -> str:
        """The model's thinking so far (thinking models stream it before the answer)."""
        return "".join(self._recorder.thoughts)


class TextStream(_Stream):
    """Iterate to get text pieces as they arrive; `.trace` records the call; `.text` is all so far."""

    def _generate(self) -> Generator[Piece, None, None]:
        recorder = self._recorder
        error: BaseException | None = None
        chunks: Generator[StreamChunk, None, None] | None = None
        try:
            chunks, first = recorder.opened()
            for chunk in itertools.chain(first, chunks):
                yield from recorder.pieces_of(chunk)
            yield from recorder.rest()
            recorder.check_complete()
        except BaseException as exc:
            error = exc
            raise
        finally:
            # Release the HTTP response now: left to the garbage collector, its cleanup can run
            # while the same thread holds the connection pool's lock, and deadlock.
            if chunks is not None:
                chunks.close()
            recorder.close(error)
            _open_streams.discard(self)

    def __iter__(self) -> TextStream:
        return self

    def __next__(self) -> str:
        while True:
            kind, piece = next(self._pieces)
            if kind == "text":
                return str(piece)

    def events(self) -> Generator[Piece, None, None]:
        """`("thinking", piece)` and `("text", piece)` as they arrive, instead of the text alone."""
        pieces: Generator[Piece, None, None] = self._pieces
        return pieces

    def close(self) -> None:
        """Stop early: the request is closed and the trace marked interrupted."""
        _open_streams.discard(self)
        if self.trace.status == "running" and not self._recorder.received:
            self._recorder.close(KeyboardInterrupt())  # never iterated: nothing was sent
        self._pieces.close()

    def __enter__(self) -> TextStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncTextStream(_Stream):
    """`async for` twin of TextStream."""

    async def _generate(self) -> AsyncGenerator[Piece, None]:
        recorder = self._recorder
        error: BaseException | None = None
        chunks: AsyncGenerator[StreamChunk, None] | None = None
        try:
            spec = await fitted_async(recorder.spec)
            if spec is not recorder.spec:
                recorder.use(spec)
            chunks, first = await recorder.opened_async()
            for piece in recorder.pieces_of(first) if first is not None else ():
                yield piece
            async for chunk in chunks:
                for piece in recorder.pieces_of(chunk):
                    yield piece
            for piece in recorder.rest():
                yield piece
            recorder.check_complete()
        except BaseException as exc:
            error = exc
            raise
        finally:
            if chunks is not None:
                await chunks.aclose()
            recorder.close(error)

    def __aiter__(self) -> AsyncTextStream:
        return self

    async def __anext__(self) -> str:
        while True:
            kind, piece = await self._pieces.__anext__()
            if kind == "text":
                return str(piece)

    def events(self) -> AsyncGenerator[Piece, None]:
        """`async for kind, piece in stream.events()`: thinking and text as they arrive."""
        pieces: AsyncGenerator[Piece, None] = self._pieces
        return pieces

    async def aclose(self) -> None:
        await self._pieces.aclose()

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

    def __aiter__(self) -> PendingAsyncTextStream:
        return self

    async def __anext__(self) -> str:
        return await (await self._started()).__anext__()

    async def events(self) -> AsyncGenerator[Piece, None]:
        """`async for kind, piece in stream.events()`: thinking and text as they arrive."""
        async for event in (await self._started()).events():
            yield event

    async def aclose(self) -> None:
        if self._stream is not None:
            await self._stream.aclose()

    async def __aenter__(self) -> PendingAsyncTextStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
