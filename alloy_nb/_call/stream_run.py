"""A streamed call carried out: the conversation's effects (`conversation.py`) with every reply
streamed, synchronously or on an event loop.

Each `Send` opens a stream (sent again after a transient fault, as the retry policy allows, until
its first chunk arrives), passes its pieces on as they come and gives the gathered turn back to the
conversation; each `RunTools` runs the tools as the whole-reply drivers do. The trace is the one a
whole call writes (a request and a response per turn, the tool runs), each response with its chunk
timings. A stream that ends early while the model was asking for tools is an error: no tool runs.
A typed call streams its JSON as text; `partial()` is the value it describes so far, parsed when asked.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncGenerator, Generator
from typing import Any, Literal

from .._config import redact_host
from .._messages import ToolCall, ToolResult
from .._strategies import Exchange, StreamChunk, Turn, strategy_for
from ..errors import AlloyError, lost_mid_reply, no_valid_chunks, tool_calls_cut_off
from .conversation import CallSpec, RunTools, Send, Steps
from .drivers import (
    finish_ok,
    fitted_async,
    note_context,
    record_failure,
    recording_request,
    retry_wait,
    start_trace,
)
from .own_task import ReadInOwnTask
from .retries import RetryPolicy
from .stream_partial import PartialValue
from .stream_turn import Piece, TurnGatherer
from .tool_runner import ToolRunner

# What `stream.events()` yields, in the order it happens: ("thinking", str) and ("text", str) pieces;
# ("tool_call", ToolCall) when a tool the model asked for is about to run; ("tool_result",
# ToolResult) with the text the model gets back (an error message when the tool failed).
StreamEvent = Piece | tuple[Literal["tool_call"], ToolCall] | tuple[Literal["tool_result"], ToolResult]


class StreamRun:
    """One streamed call: its trace, the turn being gathered, and the events of the whole call."""

    def __init__(self, spec: CallSpec) -> None:
        self.trace = start_trace(spec, strategy_for(spec.config), stream=True)
        self.use(spec)
        self.policy = RetryPolicy.of(spec.config)
        self.asks_host = True  # async streams set False: they close inside the event loop
        self.begun = False
        self.earlier: list[Turn] = []  # the turns already ended
        self.current: TurnGatherer | None = None
        self.latest: TurnGatherer | None = None  # the turn being gathered, or the last one
        self.partial_value = PartialValue(spec.output)
        self.value: Any = None
        self.ended = False  # the conversation returned its value

    def use(self, spec: CallSpec) -> None:
        """Run `spec` (set again once an async stream has fitted it to the model)."""
        self.spec = spec
        self.config = spec.config
        self.strategy = strategy_for(spec.config)
        self.tools = ToolRunner(spec.tools, self.trace, spec.config.tool_timeout)

    def text(self) -> str:
        """Every turn's text so far."""
        current = [self.current.text] if self.current is not None else []
        return "".join([*(turn.text for turn in self.earlier), *current])

    def thinking(self) -> str:
        """Every turn's thinking so far."""
        current = [self.current.thinking] if self.current is not None else []
        return "".join([*(turn.thinking or "" for turn in self.earlier), *current])

    def partial(self) -> Any:
        """The value the latest turn's text describes so far; the call's value once it has ended well."""
        if self.ended:
            return self.value
        return self.partial_value.of(self.latest) if self.latest is not None else None

    def events(self) -> Generator[StreamEvent, None, None]:
        """The call's events; the trace is finished when they end, fail or are closed."""
        self.begun = True
        steps = Steps(self.spec, self.strategy, stream=True)
        error: BaseException | None = None
        result: Any = None
        try:
            while (effect := steps.next_effect(result)) is not None:
                if isinstance(effect, Send):
                    result = yield from self._turn(effect)
                else:
                    result = yield from self._tools(effect)
            self.value, self.ended = steps.value, True
        except BaseException as exc:
            error = exc
            raise
        finally:
            steps.close()
            self.close(error)

    def _turn(self, effect: Send) -> Generator[Piece, None, Turn]:
        gatherer = self._gathering(effect)
        chunks, first = self._opened(effect)
        try:
            for chunk in itertools.chain(first, chunks):
                yield from gatherer.take(chunk)
            yield from gatherer.rest()
        except AlloyError as exc:
            if gatherer.calls:
                raise self._cut(gatherer, exc) from exc
            raise
        finally:
            # Release the HTTP response now: left to the garbage collector, its cleanup can run
            # while the same thread holds the connection pool's lock, and deadlock.
            chunks.close()
        return self._ended(gatherer)

    def _gathering(self, effect: Send) -> TurnGatherer:
        """A new turn's gatherer, now the current and the latest."""
        self.current = self.latest = TurnGatherer(effect.turn)
        return self.current

    def _opened(self, effect: Send) -> tuple[Generator[StreamChunk, None, None], list[StreamChunk]]:
        """The chunk iterator and its first chunk (none for an empty stream). The request goes on
        the wire with the first chunk, so a transient fault before it is retried as the policy allows."""
        failed = 0
        while True:
            exchange = Exchange()
            chunks = self.strategy.stream(effect.request, exchange)
            try:
                with recording_request(self.trace, self.strategy, effect, exchange):
                    return chunks, list(itertools.islice(chunks, 1))
            except BaseException as exc:
                chunks.close()
                failed += 1
                wait = retry_wait(self.trace, self.policy, "request", failed, exc, effect.turn)
            time.sleep(wait)

    def _tools(self, effect: RunTools) -> Generator[StreamEvent, None, list[str]]:
        """Each call announced, run, and its result passed on, one after another."""
        results = []
        for call in effect.calls:
            yield ("tool_call", call)
            text = self.tools.run(call, effect.turn)
            results.append(text)
            yield ("tool_result", ToolResult(call_id=call.id, name=call.name, text=text))
        return results

    async def events_async(self) -> AsyncGenerator[StreamEvent, None]:
        """`events` on the event loop; the tool calls of one turn run concurrently (bounded)."""
        self.begun = True
        error: BaseException | None = None
        steps = None
        result: Any = None
        try:
            spec = await fitted_async(self.spec)
            if spec is not self.spec:
                self.use(spec)
            steps = Steps(self.spec, self.strategy, stream=True)
            # No async generator of ours runs inside this one (a turn's chunks are read in a task of
            # their own): asyncio's shutdown, which closes every open async generator at once, finds
            # one of ours to close, not a chain of them closing each other.
            while (effect := steps.next_effect(result)) is not None:
                if isinstance(effect, Send):
                    gatherer = self._gathering(effect)
                    chunks, first = await self._opened_async(effect)
                    try:
                        for piece in gatherer.take(first) if first is not None else ():
                            yield piece
                        async for chunk in chunks:
                            for piece in gatherer.take(chunk):
                                yield piece
                        for piece in gatherer.rest():
                            yield piece
                    except AlloyError as exc:
                        if gatherer.calls:
                            raise self._cut(gatherer, exc) from exc
                        raise
                    finally:
                        await chunks.aclose()  # in this task: left to the collector, it would close in another
                    result = self._ended(gatherer)
                else:
                    for call in effect.calls:
                        yield ("tool_call", call)
                    limit = asyncio.Semaphore(self.config.tool_concurrency)
                    result = await self.tools.run_all_async(effect.calls, effect.turn, limit)
                    for call, text in zip(effect.calls, result, strict=True):
                        yield ("tool_result", ToolResult(call_id=call.id, name=call.name, text=text))
            self.value, self.ended = steps.value, True
        except BaseException as exc:
            error = exc
            raise
        finally:
            if steps is not None:
                steps.close()
            self.close(error)

    async def _opened_async(self, effect: Send) -> tuple[ReadInOwnTask[StreamChunk], StreamChunk | None]:
        """`_opened` for async streams. The strategy's stream is read in a task of its own (its
        generators, the SDK's and the HTTP client's open, run and close in that one task)."""
        failed = 0
        while True:
            exchange = Exchange()
            chunks = ReadInOwnTask(self.strategy.stream_async(effect.request, exchange))
            try:
                with recording_request(self.trace, self.strategy, effect, exchange):
                    return chunks, await anext(chunks, None)
            except BaseException as exc:
                await chunks.aclose()
                failed += 1
                wait = retry_wait(self.trace, self.policy, "request", failed, exc, effect.turn)
            await asyncio.sleep(wait)

    def _cut(self, gatherer: TurnGatherer, problem: AlloyError) -> AlloyError:
        """The error for a stream that failed while the model was asking for tools."""
        cut = tool_calls_cut_off(redact_host(self.config.host), gatherer.calls.names())
        cut.transient = problem.transient
        return cut

    def _ended(self, gatherer: TurnGatherer) -> Turn:
        """The turn once its stream has ended, recorded; an error when it is not a whole reply."""
        host = redact_host(self.config.host)
        if not gatherer.received:  # e.g. an HTML page: not one chunk of the API's shape
            raise no_valid_chunks(host)
        turn = gatherer.turn()
        if not gatherer.complete:  # the stream ended without saying the reply was over: it was cut short
            raise tool_calls_cut_off(host, gatherer.calls.names()) if turn.tool_calls else lost_mid_reply(host)
        self.trace.add(gatherer.event(turn, self.trace.elapsed()))
        self.current = None
        self.earlier.append(turn)
        return turn

    def close(self, error: BaseException | None) -> None:
        """Finish the trace: the turn cut short (if any of it arrived), then the outcome."""
        gatherer = self.current
        if gatherer is not None and gatherer.received:
            self.trace.add(gatherer.event(gatherer.turn(), self.trace.elapsed()))
        if error is None or isinstance(error, Exception):  # async streams never block their loop on /api/ps
            note_context(self.trace, self.config, ask_host=self.asks_host)
        if error is None:
            finish_ok(self.trace, self.value, self.config)
        else:
            record_failure(self.trace, error, self.config)
