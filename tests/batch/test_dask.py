"""`map(..., engine=client)` on a real `dask.distributed` LocalCluster with two worker processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time

from batch_helpers import echo_after
from sample_tools import add
from sample_types import Invoice
from wire_shapes import tool_result_texts

from alloy_nb import ask, command
from alloy_nb.testing import ScriptedEngine, ScriptedToolCall, ScriptedTurn as Reply, ServerThread

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


def test_an_item_whose_task_the_cluster_loses_fails_alone(server) -> None:
    """A task whose worker dies every time (`KilledWorker`) is that item's failure: the batch and
    what finished are returned, not lost with an exception out of `map`."""
    import dask
    import distributed

    @command
    def shout(word: str) -> str:
        if word == "die":
            os._exit(1)  # a tool or a library that takes its worker process down
        return f"Shout {word}."

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        result = shout.map(["a", "die", "c"], engine=client, progress=False)
    assert sorted(slot.index for slot in result.items) == [0, 1, 2]  # every item has its outcome
    died = result.items[1]
    assert type(died.error).__name__ == "RemoteError" and "KilledWorker" in str(died.error)
    for slot in result.items:  # a task lost with the worker (queued or running there) fails the same way
        assert slot.value == f"You said: Shout {slot.item}." if slot.ok else type(slot.error).__name__ == "RemoteError"


def test_a_resumed_cluster_run_is_not_interrupted_by_an_earlier_one(cluster_client, server) -> None:
    result = ask.map(["a", "b", "c"], engine=cluster_client, progress=False)
    result.slots[2], result.interrupted = None, True  # as a Ctrl-C before the last item finished leaves it
    assert result.resume() is result and result.done and not result.interrupted
    assert result.values == ["You said: a", "You said: b", "You said: c"]


def test_cancelling_map_async_on_a_cluster_stops_its_tasks(cluster_client) -> None:
    """The cluster's run happens in a thread, which a cancellation cannot stop by itself (and which
    `asyncio.run` waits for as it ends)."""
    engine = ScriptedEngine(responder=echo_after(lambda _: 0.2))
    with ServerThread(engine) as server:

        async def cancelled() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    ask.map_async(PROMPTS * 3, host=server.url, engine=cluster_client, progress=False), 0.6
                )

        started = time.monotonic()
        asyncio.run(cancelled())
        took = time.monotonic() - started
    # the 48 items take about 2.4 s on the cluster's 4 threads; cancelled at 0.6 s, the run ends soon after
    assert took < 1.8 and len(engine.requests) < len(PROMPTS * 3), (took, len(engine.requests))


def test_a_host_failing_in_the_middle_of_a_tool_loop_on_a_cluster_moves_the_request(cluster_client) -> None:
    bad_engine, good_engine = ScriptedEngine(), ScriptedEngine()
    bad_engine.script(
        Reply(tool_calls=[ScriptedToolCall("add", {"a": 2, "b": 3})]), Reply(status=503, error="overloaded")
    )
    good_engine.script(Reply(text="5"))
    with ServerThread(bad_engine) as bad, ServerThread(good_engine) as good:
        result = ask.map(
            ["Add 2 and 3."], tools=[add], hosts=[bad.url, good.url], engine=cluster_client, progress=False
        )
    assert result.values == ["5"], result.summary()
    assert len(bad_engine.requests) == 2 and len(good_engine.requests) == 1
    assert tool_result_texts(good_engine.requests[0].body, "native") == ["5"]  # the failed request, sent again
    item = result.items[0]
    assert item.host == good.url == item.trace.host and item.attempts == 2
