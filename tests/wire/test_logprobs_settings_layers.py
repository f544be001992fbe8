"""`logprobs` and `top_logprobs` set through `configure()` and through `with alloy_nb.settings(...)` reach the
request, plain and streamed, on both strategies that have them; a per-call keyword still wins, and leaving
the `with` block (or resetting) asks for nothing again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from wire_shapes import LOGPROB_STRATEGIES

import alloy_nb
from alloy_nb import ask
from alloy_nb.testing import ScriptedTurn as Reply

REPLY = Reply(chunks=["Tides ", "follow ", "the ", "moon."])


@contextmanager
def _configured(**values: Any) -> Iterator[None]:
    alloy_nb.configure(**values)
    try:
        yield
    finally:
        alloy_nb.reset_configuration()


LAYERS: dict[str, Callable[..., AbstractContextManager[Any]]] = {
    "configure": _configured,
    "settings": alloy_nb.settings,
}


def _asked(server, api: str, stream: bool, **per_call: Any) -> dict[str, Any]:
    """One call; the body it sent, after checking the trace kept a token for each chunk."""
    server.script(REPLY)
    if stream:
        streamed = ask.stream("Why tides?", api=api, **per_call)
        text, trace = "".join(streamed), streamed.trace
    else:
        text, trace = ask.traced("Why tides?", api=api, **per_call)
    body = server.requests[-1].body
    if body.get("logprobs"):
        assert trace.tokens().text == text == "Tides follow the moon."
    return body


def _logprob_fields(body: dict[str, Any]) -> tuple[Any, Any]:
    return body.get("logprobs"), body.get("top_logprobs")


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("api", LOGPROB_STRATEGIES)
def test_logprobs_set_in_a_layer_reach_the_request(server, api: str, stream: bool, layer: str) -> None:
    scope = LAYERS[layer]
    with scope(logprobs=True, top_logprobs=4):
        assert _logprob_fields(_asked(server, api, stream)) == (True, 4)
        assert _logprob_fields(_asked(server, api, stream, top_logprobs=1)) == (True, 1)  # the call's keyword wins
    with scope(top_logprobs=2):  # alone, it asks for logprobs too
        assert _logprob_fields(_asked(server, api, stream)) == (True, 2)
    with scope(logprobs=True):
        body = _asked(server, api, stream)
        assert body["logprobs"] is True and "top_logprobs" not in body
    assert _logprob_fields(_asked(server, api, stream)) == (None, None)  # out of the layer, nothing is asked


@pytest.mark.parametrize("api", LOGPROB_STRATEGIES)
def test_settings_override_configure_and_nest(server, api: str) -> None:
    with _configured(top_logprobs=5):
        with alloy_nb.settings(top_logprobs=3):
            assert _logprob_fields(_asked(server, api, False)) == (True, 3)
            with alloy_nb.settings(top_logprobs=1):
                assert _logprob_fields(_asked(server, api, False)) == (True, 1)
            assert _logprob_fields(_asked(server, api, False)) == (True, 3)
        assert _logprob_fields(_asked(server, api, False)) == (True, 5)
    with pytest.raises(alloy_nb.ConfigurationError):
        alloy_nb.configure(top_logprobs=21)
    assert _logprob_fields(_asked(server, api, False)) == (None, None)  # a refused value is not kept
