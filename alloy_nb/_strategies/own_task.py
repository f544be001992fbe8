"""An SDK's async stream read in a task of its own.

The ollama SDK streams through async generators of its own and of httpx (`AsyncClient.stream`).
Iterated in the caller's task, they are closed wherever the caller's stream is closed: by the
garbage collector's finalizer in a task of asyncio's, which `asyncio.run` cancels as it ends, and
then again by `shutdown_asyncgens` while they are still half-closed ("aclose(): asynchronous
generator is already running"). Read in a task that the stream owns, they open, run and close in
that one task: closing the stream cancels it, and the cancellation closes them there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Ended:
    error: Exception | None


async def read_in_own_task(source: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """The items of `source`, read by a new task in the current context (a context variable set now,
    such as the wire capture, is what the reads see); the source's exception is raised here."""
    items: asyncio.Queue[T | _Ended] = asyncio.Queue()

    async def read() -> None:
        try:
            async for item in source:
                items.put_nowait(item)
        except Exception as error:
            items.put_nowait(_Ended(error))
        else:
            items.put_nowait(_Ended(None))

    reader = asyncio.get_running_loop().create_task(read())
    try:
        while not isinstance(item := await items.get(), _Ended):
            yield item
        if item.error is not None:
            raise item.error
    finally:
        reader.cancel()  # nothing when it has ended; else the source closes in the reader's task
        await asyncio.wait([reader])
