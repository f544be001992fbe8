"""`map` for `ask` and for commands: the plan (the caller's settings, hosts, concurrency) and the run,
here or on a Dask cluster, with `resume()` wired to run what is left."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict, cast

from .._config import current
from ..errors import ConfigurationError
from .batch import DEFAULT_PER_HOST, BatchPlan, Job, OnError, run_batch, run_batch_async
from .batch_result import BatchResult
from .options import CallOptions

if TYPE_CHECKING:
    from .dask import Stop


class BatchOptions(TypedDict, total=False):
    """How `map` runs: `concurrency` requests in flight per host (4, like Ollama's default
    OLLAMA_NUM_PARALLEL), `on_error` ("collect" keeps going, "raise" stops at the first failure),
    `progress` (a bar), `engine` (a `dask.distributed.Client` to run the items on its cluster)."""

    concurrency: int
    on_error: OnError
    progress: bool
    engine: Any


BATCH_KEYS = frozenset(BatchOptions.__annotations__)


def plan_for(job: Job, options: CallOptions, batch: BatchOptions) -> BatchPlan:
    """How `map` runs; every item gets the settings resolved here (a bad one fails now; Dask workers get them)."""
    settings = {key: value for key, value in options.items() if key not in ("history", "images")}
    if "host" in settings and "hosts" not in settings:  # the map's own host outranks hosts set below it
        settings["hosts"] = ()
    return BatchPlan(
        job,
        current(**settings),
        batch.get("concurrency", DEFAULT_PER_HOST),
        batch.get("on_error", "collect"),
        batch.get("progress", True),
    )


def split_batch(options: Mapping[str, Any]) -> tuple[BatchOptions, dict[str, Any]]:
    """`map`'s keywords as how it runs and what each call takes."""
    batch = {key: value for key, value in options.items() if key in BATCH_KEYS}
    return cast(BatchOptions, batch), {key: value for key, value in options.items() if key not in BATCH_KEYS}


def mapped(plan: BatchPlan, items: Iterable[Any], engine: Any, stop: Stop | None = None) -> BatchResult:
    """Run the batch, here or on the cluster of `engine`; `stop` (a `dask.Stop`) ends a cluster run early."""
    result = BatchResult.empty(_inputs(items))
    if engine is not None:
        from .dask import run_on_cluster

        result.rerun = lambda again, retry_failed: run_on_cluster(
            plan, engine, again, _rerun_indexes(again, retry_failed)
        )
        return run_on_cluster(plan, engine, result, range(len(result)), stop)
    result.rerun = lambda again, retry_failed: run_batch(plan, again, _rerun_indexes(again, retry_failed))
    return run_batch(plan, result, range(len(result)))


async def mapped_async(plan: BatchPlan, items: Iterable[Any], engine: Any = None) -> BatchResult:
    if engine is not None:  # the cluster's client blocks while it gathers: wait for it in a thread
        from .dask import Stop

        stop = Stop()
        try:
            done: BatchResult = await asyncio.to_thread(mapped, plan, items, engine, stop)
        except asyncio.CancelledError:
            stop()  # the thread cannot be cancelled: its run stops, and with it the cluster's tasks
            raise
        return done
    result = BatchResult.empty(_inputs(items))
    result.rerun = lambda again, retry_failed: run_batch(plan, again, _rerun_indexes(again, retry_failed))
    return await run_batch_async(plan, result, range(len(result)))


def _inputs(items: Iterable[Any]) -> list[Any]:
    """The batch's items; one string is refused, not split into its characters."""
    if isinstance(items, (str, bytes)):
        raise ConfigurationError(
            f"map takes a list of items, got one {type(items).__name__}: pass [{items[:40]!r}] for one item."
        )
    return list(items)


def _rerun_indexes(result: BatchResult, retry_failed: bool) -> list[int]:
    failed = [slot.index for slot in result.failed] if retry_failed else []
    for index in failed:
        result.slots[index] = None
    return sorted([*result.pending])


def arguments_of(item: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A `cmd.map` item as call arguments: a tuple is positional arguments, a mapping keyword
    arguments, anything else the one argument."""
    if isinstance(item, tuple):
        return item, {}
    if isinstance(item, Mapping):
        return (), dict(item)
    return (item,), {}
