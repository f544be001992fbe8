"""An async stream read in a task of its own (`ReadInOwnTask`): what its owner sees however the
reading ends, and how far the reader may run ahead."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import anyio
import pytest

from alloy_nb._call.own_task import ReadInOwnTask


async def numbers(
    count: int | None = None,
    fail_at: int | None = None,
    made: list[int] | None = None,
    pause: float = 0.001,
    closing: float = 0.0,
    closed: list[bool] | None = None,
) -> AsyncIterator[int]:
    """0, 1, 2, ... (`count` of them, or without end, `pause` s apart), raising at `fail_at`; each one made
    is noted in `made`; closing takes `closing` s (as an HTTP response's does) and is noted in `closed`."""
    number = 0
    try:
        while count is None or number < count:
            if number == fail_at:
                raise ValueError(f"no {number}")
            await asyncio.sleep(pause)
            if made is not None:
                made.append(number)
            yield number
            number += 1
    finally:
        if closing:
            await asyncio.sleep(closing)
        if closed is not None:
            closed.append(True)


async def read_all(stream: ReadInOwnTask[int]) -> list[int]:
    try:
        return [number async for number in stream]
    finally:
        await stream.aclose()


def others() -> set[asyncio.Task[object]]:
    return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}


async def test_the_items_and_the_sources_error_reach_the_owner() -> None:
    assert await read_all(ReadInOwnTask(numbers(3))) == [0, 1, 2]
    with pytest.raises(ValueError, match="no 2"):
        await read_all(ReadInOwnTask(numbers(5, fail_at=2)))
    assert others() == set()


async def test_a_reader_cancelled_from_outside_ends_the_stream_as_cancelled_never_a_hang() -> None:
    stream = ReadInOwnTask(numbers())
    owner = asyncio.create_task(read_all(stream))
    await asyncio.sleep(0.01)
    for task in others() - {owner}:
        task.cancel()  # a clean-up that cancels every other task
    done, _ = await asyncio.wait([owner], timeout=2)
    assert done == {owner} and owner.cancelled()
    assert others() == set()


async def test_the_reader_stays_at_most_a_bounded_number_of_items_ahead() -> None:
    made: list[int] = []
    stream = ReadInOwnTask(numbers(made=made, pause=0))
    assert await anext(stream) == 0
    await asyncio.sleep(0.2)  # an endless source: unbounded, the reader would make thousands meanwhile
    assert len(made) <= ReadInOwnTask.AHEAD + 2
    assert [await anext(stream) for _ in range(200)] == list(range(1, 201))  # reading on lets it go on
    await stream.aclose()
    assert others() == set()


async def test_a_source_waiting_for_room_is_closed_in_its_task_when_the_stream_is() -> None:
    closed: list[bool] = []
    stream = ReadInOwnTask(numbers(pause=0, closing=0.01, closed=closed))
    assert await anext(stream) == 0
    await asyncio.sleep(0.05)  # the reader is now waiting for room, between two items of the source
    await stream.aclose()
    assert closed == [True]  # not left for asyncio's shutdown to close half-way
    assert others() == set()


async def test_closing_inside_an_anyio_cancel_scope_still_waits_for_the_reader() -> None:
    stream = ReadInOwnTask(numbers(closing=0.02))
    with anyio.move_on_after(0.05):
        try:
            async for _ in stream:
                pass
        finally:
            await stream.aclose()
    assert others() == set()


def test_ctrl_c_in_the_reader_ends_the_owners_stream_at_the_next_loop_run() -> None:
    async def interrupted() -> AsyncIterator[int]:
        yield 0
        await asyncio.sleep(0.01)
        raise KeyboardInterrupt

    loop = asyncio.new_event_loop()
    try:
        stream = loop.run_until_complete(_made(interrupted))
        owner = loop.create_task(read_all(stream))
        with pytest.raises(KeyboardInterrupt):  # asyncio lets it out of the loop at once, as IPython's %autoawait sees
            loop.run_until_complete(owner)
        loop.run_until_complete(asyncio.wait([owner], timeout=2))
        assert owner.done() and owner.cancelled()
    finally:
        loop.close()


async def _made(source: object) -> ReadInOwnTask[int]:
    return ReadInOwnTask(source())  # type: ignore[operator]
