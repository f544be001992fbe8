"""`map(..., engine=client)`: a batch run as tasks on a Dask cluster (`dask.distributed.Client`).

Each item is one task. The worker that runs it calls the hosts itself, starting at the item's
own host (items spread over the hosts in turn) and moving to the next on a host fault, as a local
batch does: a call whose host fails midway goes on on the next (`HostMove`), its tools not run
again. Results and traces come back in order of completion to the notebook's progress bar; the
cluster's worker threads bound how many run at once, and Dask resubmits the tasks of a worker that
dies. Ctrl-C cancels what has not finished and keeps the rest (`result.resume()`).

Every item runs with the settings resolved in the caller's process (`BatchPlan.config`), never the
worker's own, and inside the caller's trace context (W3C headers: an instrumented worker's spans go
under the `map` span). They travel as task arguments, which the dashboard does not show; task keys
(what it shows) hold a batch id and an index, nothing from the settings: headers and host
credentials are secrets.
"""

from __future__ import annotations

import asyncio
import pickle
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._hooks import adopted, batch_scope, carrier
from .._trace import Trace
from ..errors import RemoteError
from .batch import BatchPlan, Job, outcome
from .batch_result import BatchResult, ItemResult
from .host_pool import HostMove, HostPool, host_fault, offer, withdraw
from .progress import BatchProgress


def run_item(
    job: Job, item: Any, hosts: Sequence[str], plan: BatchPlan, context: Mapping[str, str] | None = None
) -> ItemResult:
    """The task: call `job` for `item` on `hosts` in order, moving on after a host fault (on a worker),
    inside the caller's trace `context` (W3C headers, see `alloy_nb._hooks.carrier`)."""
    with adopted(context or {}):
        return _run_item(job, item, hosts, plan)


def _run_item(job: Job, item: Any, hosts: Sequence[str], plan: BatchPlan) -> ItemResult:
    started = time.perf_counter()
    attempt = 0
    while True:
        first = hosts[attempt % len(hosts)]
        value, trace, error, move = asyncio.run(_on_hosts(job, item, first, hosts, plan, plan.attempts - attempt - 1))
        attempt += 1 + move.moved
        host = move.host or first
        if error is None:
            return ItemResult(0, item, value, None, trace, host, time.perf_counter() - started, attempt)
        if host_fault(error) and attempt < plan.attempts:
            continue
        failed = getattr(error, "trace", None)
        return ItemResult(0, item, None, _portable(error), failed, host, time.perf_counter() - started, attempt)


async def _on_hosts(
    job: Job, item: Any, first: str, hosts: Sequence[str], plan: BatchPlan, moves: int
) -> tuple[Any, Trace | None, Exception | None, HostMove]:
    """One try of the item from `first`, its call free to move to the other hosts `moves` times."""
    pool = HostPool([first, *(host for host in hosts if host != first)], per_host=1)
    move = HostMove(pool, await pool.acquire(), moves, plan.config_for)
    token = offer(move if pool.size > 1 else None)
    try:
        value, trace = await job(item, move.config)
    except Exception as error:
        return None, None, error, move
    finally:
        withdraw(token)
    return value, trace, None, move


def _portable(error: Exception) -> Exception:
    """The error itself if it survives pickling, else a `RemoteError` naming it."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        remote = RemoteError(f"{type(error).__name__}: {error}")
        remote.trace = getattr(error, "trace", None)
        return remote
    return error


def _slot_of(future: Any, index: int, item: Any) -> ItemResult:
    """A finished task's item; a task the cluster lost (its worker died: `KilledWorker`, a closed
    connection) is that item's failure, and the rest of the batch goes on."""
    try:
        slot: ItemResult = future.result()
    except Exception as lost:
        error = RemoteError(f"The cluster could not run this item: {type(lost).__name__}: {lost}")
        return ItemResult(index, item, None, error)
    slot.index, slot.item = index, item
    return slot


class Stop:
    """Stops a cluster run from another thread (an async caller that was cancelled): its tasks are
    cancelled and the run ends as interrupted, keeping what finished."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancel: Callable[[], object] | None = None
        self.requested = False

    def arm(self, cancel: Callable[[], object]) -> None:
        """What stopping the run does; done at once when a stop came first."""
        with self._lock:
            self._cancel = cancel
            requested = self.requested
        if requested:
            cancel()

    def __call__(self) -> None:
        with self._lock:
            self.requested = True
            cancel = self._cancel
        if cancel is not None:
            cancel()


def run_on_cluster(
    plan: BatchPlan, client: Any, result: BatchResult, indexes: Sequence[int], stop: Stop | None = None
) -> BatchResult:
    """Run `indexes` of `result` as tasks on `client`'s cluster, blocking until they finish (or `stop`)."""
    with batch_scope(len(indexes), "dask", plan.config.model):
        return _run_on_cluster(plan, client, result, indexes, carrier(), stop or Stop())


def _run_on_cluster(
    plan: BatchPlan, client: Any, result: BatchResult, indexes: Sequence[int], context: dict[str, str], stop: Stop
) -> BatchResult:
    from distributed import as_completed

    progress = BatchProgress(len(result), enabled=plan.progress, already_done=len(result) - len(indexes))
    batch_id = uuid.uuid4().hex[:8]
    hosts = plan.hosts
    futures = {
        client.submit(
            run_item,
            plan.job,
            result.inputs[index],
            [*hosts[index % len(hosts) :], *hosts[: index % len(hosts)]],
            plan,
            context,
            key=f"alloy-map-{batch_id}-{index}",  # what the dashboard shows: never a setting (see above)
            pure=False,
        ): index
        for index in indexes
    }
    started = time.perf_counter()
    failure: ItemResult | None = None
    result.interrupted = False  # this run's own outcome (a resumed batch was interrupted before)
    stop.arm(lambda: client.cancel(list(futures)))
    try:
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            if stop.requested:  # the tasks were cancelled: what finished so far is the result
                result.interrupted = True
                break
            index = futures.pop(future)
            slot = _slot_of(future, index, result.inputs[index])
            result.slots[index] = slot
            progress.item_done(ok=slot.ok, tokens=slot.tokens)
            progress.refresh()
            if not slot.ok and plan.on_error == "raise":
                failure = slot
                break
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        if futures:
            client.cancel(list(futures))
        result.wall_s += time.perf_counter() - started
        progress.close()
    return outcome(result, failure)
