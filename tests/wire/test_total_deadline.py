"""`timeout` bounds a whole non-streamed reply, not each byte of it; a streamed reply keeps its per-chunk wait.

A host that trickles one byte every 0.1 s never trips a read timeout (each byte restarts it), so only a
deadline on the whole request ends such a call.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from odd_hosts import OddHost, trickling
from wire_shapes import wire_path

from alloy_nb import ServerError, ask
from alloy_nb.testing import ScriptedTurn

TIMED_OUT = r"The server at http://127\.0\.0\.1:\d+ did not answer within 0\.4s\. "


@pytest.fixture
def trickle() -> Iterator[OddHost]:
    with trickling(interval=0.1).running() as host:
        yield host


def test_a_trickled_reply_ends_at_the_timeout(trickle: OddHost, api: str) -> None:
    started = time.monotonic()
    with pytest.raises(ServerError, match=TIMED_OUT) as caught:
        ask("hi", host=trickle.url, timeout=0.4, transient_retries=0, api=api)
    assert time.monotonic() - started < 3
    assert caught.value.transient  # a fault of the host: retried, and moved to another host by map
    assert caught.value.trace is not None and caught.value.trace.requests  # what was sent is kept
    assert trickle.paths == [wire_path(api)]


async def test_a_trickled_reply_ends_at_the_timeout_async(trickle: OddHost, api: str) -> None:
    started = time.monotonic()
    with pytest.raises(ServerError, match=TIMED_OUT) as caught:
        await ask.async_("hi", host=trickle.url, timeout=0.4, transient_retries=0, api=api)
    assert time.monotonic() - started < 3
    assert caught.value.transient and trickle.paths == [wire_path(api)]


def test_a_streamed_reply_may_outlast_the_timeout_while_chunks_keep_coming(server, api: str) -> None:
    words = [f"w{i} " for i in range(8)]
    server.script(ScriptedTurn(chunks=words, chunk_delay=0.1))
    started = time.monotonic()
    assert "".join(ask.stream("hi", timeout=0.3, api=api)) == "".join(words)
    assert time.monotonic() - started > 0.3 * 2
