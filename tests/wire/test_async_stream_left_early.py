"""An async stream left with `break` and never closed, as alloy-ai's own tests leave one, or still
held open: when `asyncio.run` ends, nothing is left half-closed (no "already running", no ignored
exception) and the trace says the call was interrupted."""

from __future__ import annotations

import subprocess
import sys

import pytest

from alloy_nb._choices import STRATEGIES
from alloy_nb.testing import ScriptedTurn as Reply

SCRIPT = """
import asyncio, sys
import alloy_nb
from alloy_nb import ask

alloy_nb.configure(host=sys.argv[1], api=sys.argv[2], log=False)

async def main():
    async for piece in ask.stream_async("Count slowly."):
        break
    print("left with", repr(piece))

asyncio.run(main())
print("ended")
"""


def printed(server, script: str, api: str, reply: Reply | None = None) -> list[str]:
    """The lines `script` prints against `reply` (by default a slowly streamed one); it must print
    nothing to stderr."""
    server.script(reply or Reply(chunks=["one ", "two ", "three ", "four"], chunk_delay=0.2))
    done = subprocess.run([sys.executable, "-c", script, server.url, api], capture_output=True, text=True, timeout=60)
    assert done.stderr == "", done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize("api", STRATEGIES)
def test_an_async_stream_left_with_break_closes_quietly(server, api: str) -> None:
    assert printed(server, SCRIPT, api) == ["left with 'one '", "ended"]


HELD = """
import asyncio, sys
import alloy_nb
from alloy_nb import ask

alloy_nb.configure(host=sys.argv[1], api=sys.argv[2], log=False)
held = []

async def main():
    stream = ask.stream_async("Count slowly.")
    held.append(stream)  # still open, and still referenced, when asyncio.run closes what is left open
    async for piece in stream:
        break
    print("left with", repr(piece))

asyncio.run(main())
print("ended", held[0].trace.status)
"""


@pytest.mark.parametrize("api", STRATEGIES)
def test_an_async_stream_still_held_open_when_asyncio_run_ends_closes_quietly(server, api: str) -> None:
    assert printed(server, HELD, api) == ["left with 'one '", "ended interrupted"]


HELD_EVENTS = """
import asyncio, sys
import alloy_nb
from alloy_nb import command

alloy_nb.configure(host=sys.argv[1], api=sys.argv[2], log=False)
held = []

@command
async def count() -> str:
    return "Count slowly."

async def main():
    stream = count.stream()
    events = stream.events()
    held.extend([stream, events])  # both still open when asyncio.run closes what is left open
    async for kind, item in events:
        if kind == "text":
            break
    print("left with", repr(item))

asyncio.run(main())
print("ended", held[0].trace.status)
"""


@pytest.mark.parametrize("api", STRATEGIES)
def test_an_async_commands_events_still_held_open_when_asyncio_run_ends_close_quietly(server, api: str) -> None:
    assert printed(server, HELD_EVENTS, api) == ["left with 'one '", "ended interrupted"]


CYCLE = """
import asyncio, gc, sys
import alloy_nb
from alloy_nb import ask

alloy_nb.configure(host=sys.argv[1], api=sys.argv[2], log=False)
traces = []

async def read_one():
    stream = ask.stream_async("Count on.")
    traces.append(stream.trace)
    try:
        async for piece in stream:
            raise ValueError("enough")
    except ValueError as exc:
        problem = exc  # the frame holds the error, whose traceback holds the frame: a cycle with the stream

async def main():
    await read_one()
    await asyncio.sleep(0.5)  # the reader runs ahead of the reads that stopped, and waits
    gc.collect()
    await asyncio.sleep(0.5)
    print("after collecting", traces[0].status)

asyncio.run(main())
"""


@pytest.mark.slow  # waits a second in all, on each strategy
@pytest.mark.parametrize("api", STRATEGIES)
def test_an_async_stream_left_in_a_reference_cycle_is_collected_quietly(server, api: str) -> None:
    """The reader waiting for room is not destroyed pending when the collector frees the stream's cycle."""
    many = Reply(chunks=[f"w{index} " for index in range(200)])
    assert printed(server, CYCLE, api, many) == ["after collecting interrupted"]
