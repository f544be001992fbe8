"""An async stream left with `break` and never closed, as alloy-ai's own tests leave one: when
`asyncio.run` ends, nothing is left half-closed (no "already running", no ignored exception)."""

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


@pytest.mark.parametrize("api", STRATEGIES)
def test_an_async_stream_left_with_break_closes_quietly(server, api: str) -> None:
    server.script(Reply(chunks=["one ", "two ", "three ", "four"], chunk_delay=0.2))
    done = subprocess.run([sys.executable, "-c", SCRIPT, server.url, api], capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines() == ["left with 'one '", "ended"], done
    assert done.stderr == "", done.stderr
