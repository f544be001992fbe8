"""Synchronous HTTP clients kept between calls, one per host and settings, closed at exit."""

from __future__ import annotations

import atexit
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar


class Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=Closable)


class ClientCache(Generic[C]):
    """`cache.get(*key)` is the client `create(*key)` made the first time that key was asked for.

    At most `size` clients are kept; beyond that the least recently used one is let go without
    being closed, since a call in another thread may still be using it. Those still kept are
    closed when the interpreter exits, so their connections end cleanly instead of being left to
    the garbage collector (which warns about every open socket it finds)."""

    def __init__(self, create: Callable[..., C], size: int = 8) -> None:
        self._create = create
        self._size = size
        self._clients: OrderedDict[tuple[Hashable, ...], C] = OrderedDict()
        self._lock = threading.Lock()
        atexit.register(self.close)

    def get(self, *key: Hashable) -> C:
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._create(*key)
                if len(self._clients) > self._size:
                    self._clients.popitem(last=False)
            else:
                self._clients.move_to_end(key)
            return client

    def close(self) -> None:
        """Close every kept client; the next `get` makes new ones."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), OrderedDict()
        for client in clients:
            close = getattr(client, "close", None)  # ollama < 0.6 clients have none (their sockets close at exit)
            if close is not None:
                close()
