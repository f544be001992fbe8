"""A client that leaves before its reply: its generation stops and frees the engine, whole replies and
streams alike (as Ollama cancels a request's context)."""

from __future__ import annotations

import time

import httpx
import pytest

from alloy_nb.testing import ScriptedEngine, ScriptedTurn, ServerThread

MODEL = "smollm2:135m"


def _idle(engine: ScriptedEngine, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while engine.active and time.monotonic() < deadline:
        time.sleep(0.02)
    return engine.active == 0


@pytest.mark.parametrize("path", ["/api/chat", "/v1/chat/completions", "/api/generate"])
@pytest.mark.parametrize("stream", [False, True])
def test_a_client_that_leaves_before_the_first_word_stops_its_generation(path: str, stream: bool) -> None:
    engine = ScriptedEngine()
    engine.script(ScriptedTurn(text="far too late", delay=10))
    body = {"model": MODEL, "stream": stream, "prompt": "Hi.", "messages": [{"role": "user", "content": "Hi."}]}
    with ServerThread(engine) as server:
        with pytest.raises(httpx.ReadTimeout):
            with httpx.stream("POST", server.url + path, json=body, timeout=httpx.Timeout(5, read=0.5)) as reply:
                reply.read()
        assert _idle(engine), "the generation went on after its client left"
        engine.script(ScriptedTurn(text="next"))
        assert "next" in httpx.post(server.url + path, json=body | {"stream": False}, timeout=10).text
