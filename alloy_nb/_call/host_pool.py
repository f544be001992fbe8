"""Which server takes a batch's next request: the least busy one with a free slot that is not cooling down.

A host whose request failed with a fault of the host (unreachable, a dropped connection, a 5xx
gateway error, a timeout) cools down for a while, doubling with each failure in a row, so its items
go to the others; an answer from it ends the cool-down. An item whose host fails in the middle of
its call moves to another host with its conversation (`HostMove`): only the failed request is sent
again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from .._config import Config
from ..errors import OllamaUnavailable, ServerError
from .retries import is_transient

COOLDOWN_S = 1.0
COOLDOWN_MAX_S = 30.0


@dataclass
class HostLoad:
    """One host as the pool sees it."""

    url: str
    in_flight: int = 0
    answered: int = 0
    failures: int = 0  # host faults in a row
    cool_until: float = 0.0


class HostPool:
    """Hands out hosts to a batch's workers, at most `per_host` requests at once on each."""

    def __init__(self, hosts: Sequence[str], per_host: int, clock: Callable[[], float] = time.monotonic) -> None:
        if not hosts:
            raise ValueError("a host pool needs at least one host")
        self.loads = [HostLoad(url) for url in dict.fromkeys(hosts)]
        self.per_host = per_host
        self._clock = clock
        self._changed = asyncio.Condition()

    @property
    def size(self) -> int:
        return len(self.loads)

    async def acquire(self, avoid: str | None = None) -> str:
        """A host for one request, waiting for a free slot; `avoid` (the host that just failed this
        item) is taken only when no other host could be."""
        async with self._changed:
            while True:
                now = self._clock()
                chosen = self._choose(now, avoid)
                if chosen is not None:
                    chosen.in_flight += 1
                    return chosen.url
                cooling = [load.cool_until - now for load in self.loads if load.cool_until > now]
                try:
                    await asyncio.wait_for(self._changed.wait(), timeout=min(cooling) if cooling else None)
                except TimeoutError:
                    pass

    def _choose(self, now: float, avoid: str | None) -> HostLoad | None:
        """The least busy free host; the one to avoid only while every other host is cooling down (one
        that is only busy is waited for: its slot frees as soon as a request ends)."""
        free = [load for load in self.loads if load.in_flight < self.per_host and load.cool_until <= now]
        preferred = [load for load in free if load.url != avoid]
        if not preferred and any(load.url != avoid and load.cool_until <= now for load in self.loads):
            return None
        return min(preferred or free, key=lambda load: (load.in_flight, load.answered), default=None)

    async def release(self, url: str, *, host_failed: bool) -> None:
        """The request on `url` ended; `host_failed` when the host itself was at fault."""
        async with self._changed:
            load = next(load for load in self.loads if load.url == url)
            load.in_flight -= 1
            if host_failed:
                load.failures += 1
                load.cool_until = self._clock() + min(COOLDOWN_MAX_S, COOLDOWN_S * 2 ** (load.failures - 1))
            else:
                load.failures = 0
                load.cool_until = 0.0
                load.answered += 1
            self._changed.notify_all()


def host_fault(error: BaseException) -> bool:
    """A failure of the server rather than of the item, worth another host: a transient fault, nothing
    answering, or an answer that is not JSON (a proxy's login page: `errors.not_json`, status 200)."""
    answered_not_json = isinstance(error, ServerError) and error.status_code == 200
    return is_transient(error) or isinstance(error, OllamaUnavailable) or answered_not_json


class HostMove:
    """Lets one batch item's call go on on another host when its host fails: the call sends the
    failed request there again, so the turns and the tool runs before it are kept, not repeated.

    The worker running the item offers one (`offer`); only the call made with the item's own settings
    object (`config`) takes it (`taken_move`), once: not a call its prompt function or its tools make."""

    def __init__(
        self,
        pool: HostPool,
        host: str,
        moves: int,
        config_for: Callable[[str], Config],
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.pool = pool
        self.host: str | None = host  # the host the item holds a slot on (None while it has none)
        self.config = config_for(host)  # the item's settings on that host
        self.moves_left = moves
        self.moved = 0
        self._config_for = config_for
        self._stopping = stopping
        self._taken = False

    def take(self, config: Config) -> bool:
        """True once, for the call made with the item's own settings."""
        if self._taken or config is not self.config:
            return False
        self._taken = True
        return True

    async def away(self) -> Config | None:
        """The settings on another host after the item's host failed; None when the item may move no
        more, or the batch is stopping."""
        if self.moves_left <= 0 or self.host is None or self._stopping():
            return None
        failed, self.host = self.host, None
        self.moves_left -= 1
        await self.pool.release(failed, host_failed=True)
        self.host = await self.pool.acquire(avoid=failed)
        self.moved += 1
        self.config = self._config_for(self.host)
        return self.config


_offered: ContextVar[HostMove | None] = ContextVar("alloy_nb_host_move", default=None)


def offer(move: HostMove | None) -> object:
    """Offer `move` to the call about to run in this task; returns the token for `withdraw`."""
    return _offered.set(move)


def withdraw(token: object) -> None:
    _offered.reset(token)  # type: ignore[arg-type]


def taken_move(config: Config) -> HostMove | None:
    """The move offered to a call starting now with `config`, if it is the item's own call."""
    move = _offered.get()
    return move if move is not None and move.take(config) else None
