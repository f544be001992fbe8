"""Async clients lent per event loop: reused across calls, spread over small pools under concurrency."""

from __future__ import annotations

import asyncio

from alloy_nb._strategies.pool import ClientShards, leased_client


class Client:
    """Stands for an SDK's async client: only `close` matters to the pool."""

    closed = False

    async def close(self) -> None:
        self.closed = True


async def test_sequential_calls_reuse_one_client() -> None:
    shards = ClientShards(Client)
    seen = []
    for _ in range(5):
        async with shards.lease() as client:
            seen.append(client)
    assert len(set(map(id, seen))) == 1


async def test_concurrent_calls_spread_over_clients_of_bounded_load() -> None:
    shards = ClientShards(Client)
    in_use: dict[int, int] = {}
    peak: dict[int, int] = {}
    release = asyncio.Event()

    async def call() -> None:
        async with shards.lease() as client:
            in_use[id(client)] = in_use.get(id(client), 0) + 1
            peak[id(client)] = max(peak.get(id(client), 0), in_use[id(client)])
            await release.wait()
            in_use[id(client)] -= 1

    tasks = [asyncio.create_task(call()) for _ in range(3 * ClientShards.CALLS_PER_CLIENT)]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*tasks)
    assert len(peak) == 3 and max(peak.values()) == ClientShards.CALLS_PER_CLIENT


async def test_each_event_loop_gets_its_own_clients() -> None:
    async def lease() -> object:
        async with leased_client("test-key", Client) as client:
            return client

    here = await lease()
    assert await lease() is here
    elsewhere = await asyncio.to_thread(asyncio.run, lease())
    assert elsewhere is not here


def test_a_loop_that_asyncio_run_ends_closes_its_clients() -> None:
    async def lease() -> Client:
        async with leased_client("test-key", Client) as client:
            return client

    first = asyncio.run(lease())
    assert first.closed, "asyncio.run's shutdown closed the loop's clients"
    assert asyncio.run(lease()) is not first
