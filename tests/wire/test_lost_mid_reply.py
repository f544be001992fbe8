"""A server that closes the connection in the middle of its reply reads as "closed the connection before the
reply was complete" (transient, so retried), for every strategy, sync and async, streamed or not: the
SDKs' transport errors are recognised by class (httpx's, and httpx2's for the openai SDK), not by name."""

from __future__ import annotations

import pytest

from alloy_nb import ServerError, ask
from alloy_nb.testing import ScriptedTurn

LOST = r"The server at http://127\.0\.0\.1:\d+ closed the connection before the reply was complete\. Retry; .*"
CUT = ScriptedTurn(text="".join(f"w{i} " for i in range(50)), close_after_chunks=3)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_reply_cut_short_is_lost_mid_reply(server, api: str, stream: bool) -> None:
    server.script(CUT)
    with pytest.raises(ServerError, match=LOST) as caught:
        if stream:
            "".join(ask.stream("hi", api=api, transient_retries=0))
        else:
            ask("hi", api=api, transient_retries=0)
    assert caught.value.transient


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_a_reply_cut_short_is_lost_mid_reply_async(server, api: str, stream: bool) -> None:
    server.script(CUT)
    with pytest.raises(ServerError, match=LOST) as caught:
        if stream:
            [piece async for piece in ask.stream_async("hi", api=api, transient_retries=0)]
        else:
            await ask.async_("hi", api=api, transient_retries=0)
    assert caught.value.transient
