"""`map`: many calls at once, bounded per host, results in input order, nothing lost.

Items go to the least busy host with a free slot (`HostPool`). A fault of the host (unreachable, a
dropped connection, 502/503/504, a timeout, an answer that is not JSON such as a proxy's login page)
sends the item to another host when there is one, and cools the failing host down; any other
failure (a reply that does not validate, a 4xx, a tool loop limit) is the item's result and is never
retried here (each call keeps its own `retry`).

The synchronous form runs the batch on an event loop in a worker thread, so it works the same in a
script and in a notebook (whose own loop is busy running the cell). A first Ctrl-C stops sending
and lets the requests in flight finish; a second drops them too. Every finished item is kept, and
`result.resume()` runs only the rest.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from .._config import Config
from .._hooks import batch_scope
from .._trace import Trace
from ..errors import BatchError, BatchInterrupted, ConfigurationError
from .batch_result import BatchResult, ItemResult
from .host_pool import HostMove, HostPool, host_fault, offer, withdraw
from .progress import REFRESH_S, BatchProgress

Job = Callable[[Any, Config], Coroutine[Any, Any, tuple[Any, Trace]]]  # (item, its call's settings) -> (value, trace)
OnError = Literal["collect", "raise"]
DEFAULT_PER_HOST = 4  # requests in flight per host, like Ollama's default OLLAMA_NUM_PARALLEL


@dataclass(frozen=True)
class BatchPlan:
    """How to run a batch: the call for one item, its settings, and where and how many at once.

    `config` holds the caller's settings, resolved where `map` was called (`configure()`, `settings()`
    scopes, the environment, the call's own): every item runs with exactly these, changed only in its
    host, whether in this process or on a Dask worker whose own settings may differ."""

    job: Job
    config: Config
    per_host: int = DEFAULT_PER_HOST
    on_error: OnError = "collect"
    progress: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.per_host, bool) or not isinstance(self.per_host, int) or self.per_host < 1:
            raise ConfigurationError(
                f"concurrency={self.per_host!r} must be a whole number, at least 1 (requests in flight per host)."
            )
        if self.on_error not in ("collect", "raise"):
            raise ConfigurationError(f"on_error={self.on_error!r}: use 'collect' (the default) or 'raise'.")

    @property
    def hosts(self) -> tuple[str, ...]:
        """The servers the batch spreads over: `hosts` (each once), else the one `host`."""
        return tuple(dict.fromkeys(self.config.hosts)) or (self.config.host,)

    @property
    def attempts(self) -> int:
        """Tries per item: with several hosts, one more per host fault the calls' settings allow."""
        return 1 + self.config.transient_retries if len(self.hosts) > 1 else 1

    def config_for(self, host: str) -> Config:
        """Settings for one item's call on `host`: the caller's, on that host; with several hosts, no
        retries of a failing one inside the call (the item moves to another host instead)."""
        return self._per_host[host]

    @cached_property
    def _per_host(self) -> dict[str, Config]:
        """One config object per host, made once: calls share their strategy and clients by config."""
        retries = {"transient_retries": 0} if len(self.hosts) > 1 else {}
        return {host: self.config.model_copy(update={"host": host, **retries}) for host in self.hosts}


class _Batch:
    """One run over some of a result's items."""

    def __init__(self, plan: BatchPlan, result: BatchResult, indexes: Sequence[int], progress: BatchProgress) -> None:
        self.plan = plan
        self.result = result
        self.queue: deque[tuple[int, int, str | None]] = deque((index, 1, None) for index in indexes)
        self.progress = progress
        self.redraw_here = False  # True when the loop's thread owns the bar (async map)
        self.stopping = False
        self.failure: ItemResult | None = None

    def stop(self) -> None:
        """Send nothing more; the requests in flight finish."""
        self.stopping = True

    async def run(self) -> None:
        pool = HostPool(self.plan.hosts, self.plan.per_host)
        workers = min(len(self.queue), self.plan.per_host * pool.size)
        started = time.perf_counter()
        try:
            await asyncio.gather(*(self._work(pool) for _ in range(workers)))
        finally:
            self.result.wall_s += time.perf_counter() - started
            self.result.interrupted = bool(self.result.pending) and self.failure is None

    async def _work(self, pool: HostPool) -> None:
        while self.queue and not self.stopping:
            index, attempt, avoid = self.queue.popleft()
            host = await pool.acquire(avoid)
            move = HostMove(pool, host, self.plan.attempts - attempt, self.plan.config_for, lambda: self.stopping)
            item = self.result.inputs[index]
            started = time.perf_counter()
            faulted = False
            token = offer(move if pool.size > 1 else None)
            try:
                value, trace = await self.plan.job(item, move.config)
                slot = ItemResult(
                    index, item, value, None, trace, move.host, time.perf_counter() - started, attempt + move.moved
                )
            except Exception as error:
                faulted = host_fault(error)
                attempt += move.moved
                if faulted and attempt < self.plan.attempts:
                    self.queue.append((index, attempt + 1, move.host))
                    continue
                failed = getattr(error, "trace", None)
                slot = ItemResult(index, item, None, error, failed, move.host, time.perf_counter() - started, attempt)
            finally:
                withdraw(token)
                if move.host is not None:
                    await pool.release(move.host, host_failed=faulted)
            self._finished(slot)

    def _finished(self, slot: ItemResult) -> None:
        self.result.slots[slot.index] = slot
        self.progress.item_done(ok=slot.ok, tokens=slot.tokens)
        if self.redraw_here:
            self.progress.refresh()
        if not slot.ok and self.plan.on_error == "raise" and self.failure is None:
            self.failure = slot
            self.stop()


def _progress(plan: BatchPlan, result: BatchResult, indexes: Sequence[int]) -> BatchProgress:
    return BatchProgress(len(result), enabled=plan.progress, already_done=len(result) - len(indexes))


def run_batch(plan: BatchPlan, result: BatchResult, indexes: Sequence[int]) -> BatchResult:
    """Run `indexes` of `result` now, blocking; Ctrl-C keeps what finished (see the module docstring)."""
    with batch_scope(len(indexes), "local", plan.config.model):  # before the loop thread copies the context
        return _run_batch(plan, result, indexes)


def _run_batch(plan: BatchPlan, result: BatchResult, indexes: Sequence[int]) -> BatchResult:
    progress = _progress(plan, result, indexes)
    batch = _Batch(plan, result, indexes, progress)
    runner = _LoopThread(batch)
    runner.start()
    interrupts = 0
    try:
        while not runner.finished.is_set():
            try:
                runner.finished.wait(REFRESH_S)  # not Thread.join: a Ctrl-C inside join upsets is_alive()
                progress.refresh()
            except KeyboardInterrupt:
                interrupts += 1
                runner.interrupt(drop_in_flight=interrupts > 1)
                if interrupts == 1:
                    print("Stopping: waiting for the requests in flight (Ctrl-C again to drop them).", file=sys.stderr)
    finally:
        progress.close()
    runner.join()
    if runner.error is not None:
        raise runner.error
    return outcome(result, batch.failure)


async def run_batch_async(plan: BatchPlan, result: BatchResult, indexes: Sequence[int]) -> BatchResult:
    """`run_batch` on the running event loop. A cancellation stops the batch (its requests close) and
    propagates as cancellations must; what finished is not returned, but each call is in the call log."""
    progress = _progress(plan, result, indexes)
    batch = _Batch(plan, result, indexes, progress)
    batch.redraw_here = True
    with batch_scope(len(indexes), "local", plan.config.model):
        try:
            await batch.run()
        finally:
            progress.close()
        return outcome(result, batch.failure)


def outcome(result: BatchResult, failure: ItemResult | None) -> BatchResult:
    """The result, or `BatchError` for an `on_error="raise"` failure. An interrupted batch is returned
    in IPython / Jupyter (with a line saying so) and raised as `BatchInterrupted` in a script."""
    if failure is not None:
        raise BatchError(failure, result)
    if result.interrupted:
        if not _in_ipython():
            raise BatchInterrupted(result)
        print(result.interrupted_message(), file=sys.stderr)
    return result


class _LoopThread(threading.Thread):
    """Runs one batch on a fresh event loop; `interrupt` reaches it from the caller's thread."""

    def __init__(self, batch: _Batch) -> None:
        super().__init__(name="alloy-nb-map", daemon=True)
        self.batch = batch
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self.finished = threading.Event()
        self._context = contextvars.copy_context()  # `settings()` scopes reach the batch's calls

    def run(self) -> None:
        try:
            self._context.run(asyncio.run, self._main())
        except asyncio.CancelledError:  # a second Ctrl-C: the requests in flight were dropped
            self.batch.result.interrupted = True
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
        finally:
            self._ready.set()
            self.finished.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._ready.set()
        await self.batch.run()

    def interrupt(self, *, drop_in_flight: bool) -> None:
        self._ready.wait()
        loop, task = self._loop, self._task
        if loop is None or task is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(task.cancel if drop_in_flight else self.batch.stop)
        except RuntimeError:  # the loop closed meanwhile: the batch is over anyway
            pass


def _in_ipython() -> bool:
    """Whether this runs in IPython / Jupyter, where an interrupted batch is returned rather than raised."""
    shell = sys.modules.get("IPython")
    return shell is not None and shell.get_ipython() is not None
