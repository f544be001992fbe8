"""HTTP clients shared between calls: one per host and settings, async ones per event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Hashable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Generic, Protocol, TypeVar

from .._config import Config


class AsyncClosable(Protocol):
    async def close(self) -> None: ...


T = TypeVar("T", bound=AsyncClosable)


def client_key(config: Config) -> tuple[str, float, tuple[tuple[str, str], ...]]:
    """What makes two calls' HTTP clients interchangeable: host, timeout and headers."""
    url, headers = config.connection()
    return url, config.timeout, headers


class ClientShards(Generic[T]):
    """Async clients for one host on one event loop, each lent to a few calls at a time.

    httpcore scans every connection of a pool whenever a request starts or ends, so one pool
    serving many concurrent calls costs CPU quadratic in their number; several small pools
    keep that cheap while every connection is still reused.
    """

    CALLS_PER_CLIENT = 8
    MAX_CLIENTS = 16

    def __init__(self, create: Callable[[], T]) -> None:
        self._create = create
        self._clients: list[T] = []
        self._busy: list[int] = []

    @asynccontextmanager
    async def lease(self) -> AsyncIterator[T]:
        """The least busy client, or a new one when all are busy and there is room."""
        index = min(range(len(self._clients)), key=self._busy.__getitem__, default=-1)
        if index < 0 or (self._busy[index] >= self.CALLS_PER_CLIENT and len(self._clients) < self.MAX_CLIENTS):
            self._clients.append(self._create())
            self._busy.append(0)
            index = len(self._clients) - 1
        self._busy[index] += 1
        client = self._clients[index]
        try:
            yield client
        finally:
            if index < len(self._busy) and self._clients[index] is client:  # not closed meanwhile
                self._busy[index] -= 1

    async def aclose(self) -> None:
        """Close every client (their connections with them)."""
        clients, self._clients, self._busy = self._clients, [], []
        for client in clients:
            await client.close()


class _LoopPools:
    """The pools of one event loop, closed when the loop shuts its async generators down.

    `asyncio.run` ends by finalizing every async generator still open (`shutdown_asyncgens`); a
    parked generator per loop turns that into closing the loop's clients, so a script that calls
    `asyncio.run(ask.async_(...))` again and again keeps no socket and no loop alive.
    """

    def __init__(self) -> None:
        self.shards: dict[Hashable, ClientShards[Any]] = {}
        self.closer = self._close_at_shutdown()

    async def start(self) -> None:
        await anext(self.closer)

    async def _close_at_shutdown(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            _pools.pop(asyncio.get_running_loop(), None)
            for shards in self.shards.values():
                await shards.aclose()


_pools: dict[asyncio.AbstractEventLoop, _LoopPools] = {}


def leased_client(key: Hashable, create: Callable[[], T]) -> AbstractAsyncContextManager[T]:
    """`async with leased_client(key, create) as client:` an async client for `key` on the running
    event loop. Clients are made once and reused across calls; a pool never crosses event loops."""
    return _lease(key, create)


@asynccontextmanager
async def _lease(key: Hashable, create: Callable[[], T]) -> AsyncIterator[T]:
    loop = asyncio.get_running_loop()
    pools = _pools.get(loop)
    if pools is None:
        for closed in [other for other in _pools if other.is_closed()]:  # closed without shutdown_asyncgens
            del _pools[closed]
        pools = _pools[loop] = _LoopPools()
        await pools.start()
    shards = pools.shards.get(key)
    if shards is None:
        shards = pools.shards[key] = ClientShards(create)
    async with shards.lease() as client:
        yield client
