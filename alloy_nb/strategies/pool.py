"""HTTP clients shared between calls: one per host and settings, async ones per event loop."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Generic, TypeVar

from ..config import Config

T = TypeVar("T")


def client_key(config: Config) -> tuple[str, float, tuple[tuple[str, str], ...]]:
    """What makes two calls' HTTP clients interchangeable: host, timeout and headers."""
    return config.host, config.timeout, tuple(sorted(config.headers.items()))


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
        try:
            yield self._clients[index]
        finally:
            self._busy[index] -= 1


_loop_shards: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, ClientShards[Any]]] = (
    weakref.WeakKeyDictionary()
)


def leased_client(key: Hashable, create: Callable[[], T]) -> AbstractAsyncContextManager[T]:
    """`async with leased_client(key, create) as client:` an async client for `key` on the running
    event loop. Clients are made once and reused across calls; a pool never crosses event loops."""
    loop = asyncio.get_running_loop()
    shards = _loop_shards.get(loop)  # (MutableMapping.setdefault is slow on a WeakKeyDictionary)
    if shards is None:
        shards = _loop_shards[loop] = {}
    if key not in shards:
        shards[key] = ClientShards(create)
    return shards[key].lease()
