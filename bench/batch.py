"""Batches: `map` over one and two hosts, on a Dask cluster, against a hand-written gather, and the
progress bar's cost.

Servers are `alloy-nb serve --engine scripted` processes. Cases:
  hosts     64 items on servers that answer one request at a time after 100 ms (like a default
            Ollama, OLLAMA_NUM_PARALLEL=1): two hosts vs one. Goal: >= 1.8x the throughput.
  dask      the same 64 items as tasks on a LocalCluster of 2 worker processes over the 2 hosts,
            vs the local 2-host run (reported).
  gather    64 items on one server with no limit (100 ms think): `ask.map(concurrency=64)` vs a
            hand-written `asyncio.gather` of `ask.async_`. Goal: <= 1.05x the wall time.
  progress  10,000 items on a zero-think server in a real Jupyter kernel (the bar is a widget
            there): the kernel process's CPU with the progress bar vs without. Goal: <= 1.02x.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import ExitStack

from bench.kernel import execute, kernel
from bench.report import Row, ratio_row
from bench.servers import EMBEDDED_MODEL, serving
from bench.timing import interleaved

ITEMS = 64
THINK_TIME = 0.1
HOSTS_GOAL = 1.8
GATHER_GOAL = 1.05
PROGRESS_ITEMS = 10_000
PROGRESS_GOAL = 1.02
MODEL = f"ollama:{EMBEDDED_MODEL}"


def _prompts(count: int) -> list[str]:
    return [f"item {i}" for i in range(count)]


def _hosts_rows(rounds: int, items: int) -> list[Row]:
    from distributed import Client, LocalCluster

    from alloy_nb import ask

    with ExitStack() as stack:
        urls = [stack.enter_context(serving("scripted", think_time=THINK_TIME, parallel=1)).url for _ in range(2)]
        cluster = stack.enter_context(
            LocalCluster(n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None)
        )
        client = stack.enter_context(Client(cluster))
        prompts = _prompts(items)

        def one_host() -> None:
            assert ask.map(prompts, model=MODEL, hosts=urls[:1], progress=False).done

        def two_hosts() -> None:
            assert ask.map(prompts, model=MODEL, hosts=urls, progress=False).done

        def on_cluster() -> None:
            assert ask.map(prompts, model=MODEL, hosts=urls, engine=client, progress=False).done

        timings = interleaved(
            {"one host": one_host, "two hosts": two_hosts, "dask": on_cluster}, rounds=rounds, loops=1
        )
    hosts = ratio_row(
        "batch",
        f"{items} items, 2 hosts vs 1 (one request at a time, {THINK_TIME * 1000:g} ms each)",
        "s",
        timings["two hosts"],
        timings["one host"],
        "1 host",
        goal=f"throughput ≥ {HOSTS_GOAL}x (ratio ≤ {1 / HOSTS_GOAL:.3f})",
        limit=1 / HOSTS_GOAL,
    )
    hosts.notes["throughput, 2 hosts / 1"] = 1 / hosts.ratio.median  # type: ignore[union-attr]
    dask = ratio_row(
        "batch",
        f"{items} items, Dask 2 workers × 2 hosts vs local 2 hosts",
        "s",
        timings["dask"],
        timings["two hosts"],
        "local, 2 hosts",
    )
    return [hosts, dask]


def _gather_row(rounds: int, items: int) -> Row:
    from alloy_nb import ask

    with serving("scripted", think_time=THINK_TIME) as server:
        prompts = _prompts(items)

        async def gathered() -> None:
            await asyncio.gather(*(ask.async_(prompt, model=MODEL, host=server.url) for prompt in prompts))

        timings = interleaved(
            {
                "map": lambda: ask.map(prompts, model=MODEL, host=server.url, concurrency=items, progress=False),
                "gather": lambda: asyncio.run(gathered()),
            },
            rounds=rounds,
            loops=1,
        )
    return ratio_row(
        "batch",
        f"{items} items on one unlimited server: map vs asyncio.gather of ask.async_",
        "s",
        timings["map"],
        timings["gather"],
        "asyncio.gather",
        goal=f"ratio ≤ {GATHER_GOAL}",
        limit=GATHER_GOAL,
    )


KERNEL_SETUP = """
import json, time
from alloy_nb import ask

def measure(url, items, progress):
    cpu = time.process_time()
    result = ask.map([f"item {i}" for i in range(items)], model=%r, host=url, progress=progress)
    assert result.done and not result.failed, result
    print(json.dumps({"cpu": time.process_time() - cpu}))
"""


def _progress_row(rounds: int, items: int) -> Row:
    cpu: dict[bool, list[float]] = {True: [], False: []}
    with serving("scripted") as server, kernel() as client:
        execute(client, KERNEL_SETUP % MODEL)
        execute(client, f"measure({server.url!r}, 200, True)")  # warm: imports, connections, the widget
        for index in range(rounds):
            for progress in (True, False) if index % 2 == 0 else (False, True):
                printed, _ = execute(client, f"measure({server.url!r}, {items}, {progress})")
                cpu[progress].append(json.loads(printed)["cpu"])
    row = ratio_row(
        "batch",
        f"{items:,} items in a kernel: CPU with the progress widget vs without",
        "s CPU",
        cpu[True],
        cpu[False],
        "no progress bar",
        goal=f"ratio ≤ {PROGRESS_GOAL}",
        limit=PROGRESS_GOAL,
    )
    row.notes["kernel CPU µs/item"] = row.reference.median / items * 1e6  # type: ignore[union-attr]
    return row


def run(quick: bool = False) -> list[Row]:
    rounds, items, progress_items = (1, 16, 1_000) if quick else (3, ITEMS, PROGRESS_ITEMS)
    return [*_hosts_rows(rounds, items), _gather_row(rounds, items), _progress_row(rounds, progress_items)]
