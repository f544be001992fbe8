"""A strategy's async stream read in a task of its own.

A strategy streams through async generators: its own, the pool's lease, the SDK's and httpx's
(`AsyncClient.stream`). Iterated in the caller's task, they are closed wherever the caller's stream
is closed: by the garbage collector's finalizer in a task of asyncio's, which `asyncio.run` cancels
as it ends, or all at once by `shutdown_asyncgens` when the stream is still open then, each while
another is closing it ("aclose(): asynchronous generator is already running"). Read in a task that
the stream owns, they open, run and close in that one task: closing the stream cancels it, the
cancellation closes them there, and `asyncio.run` cancels that task before it closes generators.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import anyio

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Ended:
    error: BaseException | None


_readers: set[asyncio.Task[None]] = set()  # asyncio keeps tasks weakly: a parked reader must not be collected


class ReadInOwnTask(Generic[T]):
    """The items of `source`, read by a new task in the current context (a context variable set now,
    such as the wire capture, is what the reads see), at most `AHEAD` items ahead of the owner that
    iterates this stream. The source's exception is raised to the owner; a reader stopped otherwise
    (Ctrl-C, or a cancellation from outside) ends the stream as cancelled. Not an async generator, so
    asyncio's shutdown never closes it behind its owner's back: the owner calls `aclose()`."""

    AHEAD = 64  # like the socket buffers the SDK's own stream would fill: a stream not read stops the reply

    def __init__(self, source: AsyncIterator[T]) -> None:
        self._items: asyncio.Queue[T | _Ended] = asyncio.Queue()  # unbounded: the end always fits
        self._room = asyncio.Semaphore(self.AHEAD)
        self._ended = False
        self._reader = asyncio.get_running_loop().create_task(self._read(source))
        _readers.add(self._reader)  # a stream dropped in a reference cycle is collected, its reader never:
        self._reader.add_done_callback(_readers.discard)  # the stream's closing, or the loop's end, stops it

    async def _read(self, source: AsyncIterator[T]) -> None:
        error: BaseException | None = None
        try:
            async for item in source:
                self._items.put_nowait(item)
                await self._room.acquire()
        except BaseException as exc:
            error = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            try:
                close = getattr(source, "aclose", None)
                if close is not None and not isinstance(error, GeneratorExit):  # (a coroutine closed may not wait)
                    await close()  # stopped between two items, the source is still open: closed here, in its task
            finally:
                self._items.put_nowait(_Ended(error))

    def __aiter__(self) -> ReadInOwnTask[T]:
        return self

    async def __anext__(self) -> T:
        if self._ended:
            raise StopAsyncIteration
        item = await self._items.get()
        if not isinstance(item, _Ended):
            self._room.release()
            return item
        self._ended = True
        if item.error is None:
            raise StopAsyncIteration
        if isinstance(item.error, Exception):
            raise item.error
        raise asyncio.CancelledError()

    async def aclose(self) -> None:
        """Stop reading: the source closes in the reader's task, which this waits for (shielded from an
        anyio cancel scope around the owner, which would cancel the wait again and again)."""
        self._ended = True
        reader = self._reader
        reader.cancel()  # nothing when it has ended
        try:
            with anyio.CancelScope(shield=True):
                await asyncio.wait([reader])
        finally:
            if reader.done() and not reader.cancelled():
                reader.exception()  # seen: a KeyboardInterrupt it ended with is not reported again when collected
