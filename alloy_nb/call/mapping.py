"""`map` for `ask` and for commands: the plan (the caller's settings, hosts, concurrency) and the run,
here or on a Dask cluster, with `resume()` wired to run what is left."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from ..config import current
from .batch import BatchPlan, Job, OnError, run_batch, run_batch_async
from .batch_result import BatchResult
from .options import CallOptions


def plan_for(job: Job, options: CallOptions, concurrency: int, on_error: OnError, progress: bool) -> BatchPlan:
    """How `map` runs; every item gets the settings resolved here (a bad one fails now; Dask workers get them)."""
    settings = {key: value for key, value in options.items() if key not in ("history", "images")}
    return BatchPlan(job, current(**settings), concurrency, on_error, progress)


def mapped(plan: BatchPlan, items: Iterable[Any], engine: Any) -> BatchResult:
    result = BatchResult.empty(list(items))
    if engine is not None:
        from .dask import run_on_cluster

        result.rerun = lambda again, retry_failed: run_on_cluster(
            plan, engine, again, _rerun_indexes(again, retry_failed)
        )
        return run_on_cluster(plan, engine, result, range(len(result)))
    result.rerun = lambda again, retry_failed: run_batch(plan, again, _rerun_indexes(again, retry_failed))
    return run_batch(plan, result, range(len(result)))


async def mapped_async(plan: BatchPlan, items: Iterable[Any], engine: Any = None) -> BatchResult:
    if engine is not None:  # the cluster's client blocks while it gathers: wait for it in a thread
        done: BatchResult = await asyncio.to_thread(mapped, plan, items, engine)
        return done
    result = BatchResult.empty(list(items))
    result.rerun = lambda again, retry_failed: run_batch(plan, again, _rerun_indexes(again, retry_failed))
    return await run_batch_async(plan, result, range(len(result)))


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
