"""Drivers that carry out a conversation's effects: send with the strategy (again, as the retry
policy allows), run the tools, trace it all."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import Callable
from typing import Any, Literal

from .._capabilities import asks_host_for_context, context_warning, fit_to_model, is_known
from .._config import Config, redact_host
from .._images import without_image_data
from .._log.session import log_call
from .._strategies import ChatStrategy, Exchange, Turn, strategy_for
from .._trace import RequestEvent, ResponseEvent, RetryEvent, Trace, Usage, remember
from ..errors import AlloyError
from .conversation import CallSpec, Send, Steps
from .host_pool import HostMove, host_fault, taken_move
from .retries import RetryPolicy
from .tool_runner import ToolRunner


def start_trace(spec: CallSpec, strategy: ChatStrategy, *, stream: bool = False) -> Trace:
    """A new trace for this call, added to the recent-calls history."""
    trace = Trace(
        model=spec.config.model,
        strategy=strategy.name,
        host=redact_host(spec.config.host),
        output_type=spec.output.type_name,
        request_settings=spec.config.request_settings(),
        tools=[t.name for t in spec.tools],
        tool_schemas=[t.spec()["function"] for t in spec.tools],
        stream=stream,
        max_chars=spec.config.trace_max_chars,
        images=[image.record() for image in spec.images],
    )
    remember(trace, spec.config.trace_history)
    return trace


def fitted(spec: CallSpec) -> CallSpec:
    """The call as the model can serve it (see `capabilities.fit_to_model`); only calls with tools,
    images or thinking look the model up, once per host and model."""
    config = spec.config
    if not _asks_much(spec):
        return spec
    fit = fit_to_model(config, tools=bool(spec.tools), images=bool(spec.images))
    return spec if fit is config else dataclasses.replace(spec, config=fit)


def _asks_much(spec: CallSpec) -> bool:
    return bool(spec.tools or spec.images or spec.config.think not in (None, False))


async def fitted_async(spec: CallSpec) -> CallSpec:
    """`fitted` without blocking the event loop on the first lookup of a model."""
    if not _asks_much(spec) or is_known(spec.config):
        return fitted(spec)
    return await asyncio.to_thread(fitted, spec)


def run(spec: CallSpec) -> tuple[Any, Trace]:
    """Run a call synchronously, with its retries; returns the value and its trace."""
    with WholeCall(fitted(spec)) as call:
        call.value = call.retried()
    return call.value, call.trace


async def run_async(spec: CallSpec) -> tuple[Any, Trace]:
    """Run a call on the event loop, with its retries; tool calls of one turn run concurrently (bounded).
    A batch item's call goes on on another host of the batch when its host fails (see `HostMove`)."""
    move = taken_move(spec.config)
    async with WholeCall(await fitted_async(spec), move=move) as call:
        call.value = await call.retried_async()
    return call.value, call.trace


def note_context(trace: Trace, config: Config, *, ask_host: bool = True) -> None:
    """Warn in the trace when a reply shows its prompt filled the context window."""
    warning = context_warning(config, _longest_prompt(trace), ask_host=ask_host)
    if warning is not None and warning not in trace.warnings:
        trace.warnings.append(warning)


async def note_context_async(trace: Trace, config: Config) -> None:
    """`note_context` in a worker thread when it may have to ask the host (/api/ps)."""
    if asks_host_for_context(config, _longest_prompt(trace)):
        await asyncio.to_thread(note_context, trace, config)
    else:
        note_context(trace, config)


def _longest_prompt(trace: Trace) -> int:
    return max((r.usage.prompt_tokens or 0 for r in trace.responses), default=0)


class WholeCall:
    """One non-streamed call under way: its strategy, trace and retry policy. As a context manager it
    records how the call ended (its `value`, or the error leaving the block) and logs it."""

    __slots__ = ("config", "move", "policy", "spec", "strategy", "trace", "value")

    def __init__(self, spec: CallSpec, move: HostMove | None = None) -> None:
        self.spec, self.config, self.move = spec, spec.config, move
        self.strategy = strategy_for(spec.config)
        self.trace = start_trace(spec, self.strategy)
        self.policy = RetryPolicy.of(spec.config)
        self.value: Any = None

    def retried(self) -> Any:
        """The value of the first attempt that succeeds; the policy decides the waits and when to give up."""
        for attempt in itertools.count(1):
            try:
                return self._attempt(attempt)
            except Exception as exc:
                wait = retry_wait(self.trace, self.policy, "call", attempt, exc)
            time.sleep(wait)

    async def retried_async(self) -> Any:
        for attempt in itertools.count(1):
            try:
                return await self._attempt_async(attempt)
            except Exception as exc:
                wait = retry_wait(self.trace, self.policy, "call", attempt, exc)
            await asyncio.sleep(wait)

    def _attempt(self, attempt: int) -> Any:
        tools = ToolRunner(self.spec.tools, self.trace, self.config.tool_timeout)
        result: Any = None
        with Steps(self.spec, self.strategy) as steps:
            while (effect := steps.next_effect(result)) is not None:
                if isinstance(effect, Send):
                    result = self._send(effect, attempt)
                else:
                    result = [tools.run(call, effect.turn) for call in effect.calls]
        return steps.value

    async def _attempt_async(self, attempt: int) -> Any:
        """An attempt on the event loop: the tool calls of one turn run concurrently (bounded)."""
        limit = asyncio.Semaphore(self.config.tool_concurrency)
        tools = ToolRunner(self.spec.tools, self.trace, self.config.tool_timeout)
        result: Any = None
        with Steps(self.spec, self.strategy) as steps:
            while (effect := steps.next_effect(result)) is not None:
                if isinstance(effect, Send):
                    result = await self._send_async(effect, attempt)
                else:
                    result = await tools.run_all_async(effect.calls, effect.turn, limit)
        return steps.value

    def _send(self, effect: Send, attempt: int) -> Turn:
        """One request, sent again after a transient fault as the policy allows."""
        failed = 0
        while True:
            try:
                with recording_request(self.trace, self.strategy, effect, attempt=attempt) as (exchange, record):
                    return record(self.strategy.send(effect.request, exchange))
            except AlloyError as exc:
                failed += 1
                wait = retry_wait(self.trace, self.policy, "request", failed, exc, effect.turn)
            time.sleep(wait)

    async def _send_async(self, effect: Send, attempt: int) -> Turn:
        failed = 0
        while True:
            try:
                with recording_request(self.trace, self.strategy, effect, attempt=attempt) as (exchange, record):
                    return record(await self.strategy.send_async(effect.request, exchange))
            except AlloyError as exc:
                failed += 1
                try:
                    wait = retry_wait(self.trace, self.policy, "request", failed, exc, effect.turn)
                except AlloyError:
                    if not await self._moved(exc, failed, effect.turn):
                        raise
                    failed, wait = 0, 0.0
            await asyncio.sleep(wait)

    async def _moved(self, error: AlloyError, failed: int, turn: int) -> bool:
        """Whether the call went on to another host of its batch after a fault of its host; the
        trace says so (a retry, a warning) and names the new host."""
        if self.move is None or not host_fault(error):
            return False
        config = await self.move.away()
        if config is None:
            return False
        trace, failed_host = self.trace, self.trace.host
        self.spec = await fitted_async(dataclasses.replace(self.spec, config=config))  # as the model there takes it
        self.config, self.strategy = self.spec.config, strategy_for(self.spec.config)
        trace.host = redact_host(config.host)
        trace.add(
            RetryEvent(
                scope="request",
                attempt=failed,
                turn=turn,
                error=trace.error_info(error),
                wait_s=0.0,
                at_s=trace.elapsed(),
            )
        )
        trace.warnings.append(
            f"The host {failed_host} failed ({type(error).__name__}); the request was sent again to {trace.host}."
        )
        return True

    def __enter__(self) -> WholeCall:
        return self

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        if _may_ask_host(error):
            note_context(self.trace, self.config)
        self._record(error)

    async def __aenter__(self) -> WholeCall:
        return self

    async def __aexit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        if _may_ask_host(error):
            await note_context_async(self.trace, self.config)
        self._record(error)

    def _record(self, error: BaseException | None) -> None:
        if error is None:
            finish_ok(self.trace, self.value, self.config)
        else:
            record_failure(self.trace, error, self.config)


def _may_ask_host(error: BaseException | None) -> bool:
    """Whether the call's end may ask the host about its context window: never while Ctrl-C or a
    cancellation is handled."""
    return error is None or isinstance(error, Exception)


def retry_wait(
    trace: Trace,
    policy: RetryPolicy,
    scope: Literal["request", "call"],
    failed: int,
    error: BaseException,
    turn: int | None = None,
) -> float:
    """Seconds to wait before trying a request or call again after its `failed`-th failure, recorded
    in the trace; re-raises `error` when the policy gives up."""
    wait = policy.call_wait(error, failed) if scope == "call" else policy.request_wait(error, failed - 1)
    if wait is None:
        raise error
    trace.add(
        RetryEvent(
            scope=scope, attempt=failed, turn=turn, error=trace.error_info(error), wait_s=wait, at_s=trace.elapsed()
        )
    )
    return wait


def finish_ok(trace: Trace, value: Any, config: Config) -> None:
    """The call succeeded: record its value and log it."""
    trace.finish("ok", value)
    log_call(trace, config)


def record_failure(trace: Trace, exc: BaseException, config: Config) -> None:
    """The call failed or was interrupted: record how, hand the trace to the error, log it."""
    interrupted = isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError, GeneratorExit))
    trace.finish("interrupted" if interrupted else "error", error=exc)
    if isinstance(exc, (AlloyError, KeyboardInterrupt)):  # Ctrl-C carries the trace too, for %%alloy
        exc.trace = trace  # type: ignore[union-attr]
    log_call(trace, config)


class recording_request:
    """Trace one request from the exchange the strategy fills in: the request as it went on the
    wire (kept even when sending fails), then the response with `record(turn)`.

    `with recording_request(trace, strategy, effect) as (exchange, record): ...`"""

    __slots__ = ("effect", "event", "exchange", "started", "trace")

    def __init__(
        self, trace: Trace, strategy: ChatStrategy, effect: Send, exchange: Exchange | None = None, *, attempt: int = 1
    ) -> None:
        self.trace, self.effect = trace, effect
        self.event = RequestEvent(
            turn=effect.turn,
            endpoint=strategy.endpoint,
            url="",
            finalize=effect.finalize,
            attempt=attempt,
            at_s=trace.elapsed(),
        )
        self.exchange = exchange or Exchange()

    def __enter__(self) -> tuple[Exchange, Callable[[Turn], Turn]]:
        self.trace.add(self.event, wire_size=0)
        self.started = time.perf_counter()
        return self.exchange, self.record

    def record(self, turn: Turn) -> Turn:
        exchange, trace = self.exchange, self.trace
        duration = time.perf_counter() - self.started
        trace.add(
            response_event(turn, self.effect.turn, duration, raw=exchange.reply, at_s=trace.elapsed()),
            wire_size=exchange.reply_size,
        )
        return turn

    def __exit__(self, *failure: object) -> None:
        sent = self.exchange.sent
        if sent is not None:  # None only when the SDK refused the request before sending it
            body = without_image_data(sent.body, self.effect.images)
            size = sent.size  # the messages' strings are in the body: none is longer than it
            self.event.body, self.event.url = self.trace.cap(body, size), sent.url
            self.event.messages = self.trace.cap(self.effect.messages, size)


def response_event(
    turn: Turn, number: int, duration: float, ttft: float | None = None, raw: Any = None, at_s: float | None = None
) -> ResponseEvent:
    """The reply as the trace keeps it; `raw` is the response body as received (not for streams), `at_s`
    when it was complete."""
    return ResponseEvent(
        turn=number,
        text=turn.text,
        thinking=turn.thinking,
        tool_calls=list(turn.tool_calls),
        usage=Usage(prompt_tokens=turn.prompt_tokens, completion_tokens=turn.completion_tokens),
        done_reason=turn.done_reason,
        duration_s=round(duration, 6),
        generation_s=turn.generation_s,
        ttft_s=ttft,
        at_s=at_s,
        tokens=turn.tokens,
        raw=raw,
    )
