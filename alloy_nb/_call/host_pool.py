"""Which server takes a batch's next request: the least busy one with a free slot that is not cooling down.

A host whose request failed with a fault of the host (unreachable, a dropped connection, a 5xx
gateway error, a timeout) cools down for a while, doubling with each failure in a row, so its items
go to the others; an answer from it ends the cool-down.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
