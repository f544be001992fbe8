"""`map(..., engine=client)` on a real `dask.distributed` LocalCluster with two worker processes."""

from __future__ import annotations

import asyncio
import os
import signal
import threading

from sample_types import Invoice

from alloy_nb import ask, command

PROMPTS = [f"item {i}" for i in range(16)]


def test_a_cluster_run_equals_the_local_run(cluster_client, two_hosts) -> None:
    first, second = two_hosts
    hosts = [first.url, second.url]
    local = ask.map(PROMPTS, hosts=hosts, progress=False)
    remote = ask.map(PROMPTS, hosts=hosts, engine=cluster_client, progress=False)
    assert remote.values == local.values == [f"echo: {prompt}" for prompt in PROMPTS]
    assert {slot.host for slot in remote.items} == set(hosts)
    assert all(slot.trace is not None and slot.trace.status == "ok" for slot in remote.items)


def test_typed_commands_defined_here_run_on_the_workers(cluster_client, server) -> None:
    @command(output=Invoice)
    def invoice(number: str) -> str:
        return f"Invoice {number}."

    result = invoice.map(["A-1", "B-2"], engine=cluster_client, progress=False)
    assert all(isinstance(value, Invoice) for value in result.values), result.values
    assert [s.trace.requests[0].body["messages"][-1]["content"] for s in result.items] == [
        "Invoice A-1.",
        "Invoice B-2.",
    ]


def test_map_async_runs_on_the_cluster_too(cluster_client, server) -> None:
    @command
    def echo(word: str) -> str:
        return word

    remote = asyncio.run(echo.map_async(["x", "y"], engine=cluster_client, progress=False))
    local_pid = os.getpid()
    assert remote.values == ["You said: x", "You said: y"]
    assert all(slot.trace is not None for slot in remote.items)
    assert local_pid not in set(cluster_client.run(os.getpid).values())  # the workers are other processes
    remote = asyncio.run(ask.map_async(["z"], engine=cluster_client, progress=False))
    assert remote.values == ["You said: z"]


def test_a_worker_killed_mid_batch_loses_nothing(cluster_client, two_hosts) -> None:
    first, second = two_hosts
    prompts = [f"item {i}" for i in range(40)]
    pids = cluster_client.run(os.getpid)
    victim = next(iter(pids))
    killer = threading.Timer(0.4, os.kill, (pids[victim], signal.SIGKILL))
    killer.start()
    try:
        result = ask.map(prompts, hosts=[first.url, second.url], engine=cluster_client, progress=False)
    finally:
        killer.cancel()
    assert result.values == [f"echo: {prompt}" for prompt in prompts], result.summary()
    assert (
        victim not in cluster_client.scheduler_info()["workers"]
        or pids[victim] not in cluster_client.run(os.getpid).values()
    )
    cluster_client.wait_for_workers(2, timeout=60)  # the nanny restarts the worker for the next test
