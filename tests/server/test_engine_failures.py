"""An engine that fails, through the real SDKs: a 500 in each API's shape, an error line mid-stream,
and one log line per failed request, never a traceback."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator

import httpx
import ollama
import openai
import pytest

from alloy_nb.server import ChatRequest, EngineEvent, ModelCard, TextDelta
from alloy_nb.testing import ScriptedEngine, ServerThread

MODEL = "llama3.1:8b"
HI = [{"role": "user", "content": "Hi"}]


class FailingEngine:
    """Yields ``fail_after`` text deltas, then raises; with ``listing_fails``, listing its models raises."""

    fail_after = 0
    listing_fails = False

    def models(self) -> list[ModelCard]:
        if self.listing_fails:
            raise OSError("disk gone")
        return ScriptedEngine([MODEL]).models()

    async def generate(self, request: ChatRequest) -> AsyncGenerator[EngineEvent, None]:
        for index in range(self.fail_after):
            yield TextDelta(f"t{index} ")
        raise RuntimeError("boom")


@pytest.fixture(scope="module")
def failing() -> Iterator[tuple[FailingEngine, str]]:
    engine = FailingEngine()
    with ServerThread(engine) as thread:
        yield engine, thread.url


def test_engine_failure_before_output_is_a_500_error_shape(
    failing: tuple[FailingEngine, str], server_log: list[str]
) -> None:
    engine, url = failing
    engine.fail_after = 0
    native = httpx.post(url + "/api/chat", json={"model": MODEL, "messages": HI})
    assert native.status_code == 500 and native.json() == {"error": "engine error: RuntimeError: boom"}
    compat = httpx.post(url + "/v1/chat/completions", json={"model": MODEL, "messages": HI})
    assert compat.status_code == 500 and compat.json()["error"]["type"] == "api_error"
    assert server_log == [
        "POST /api/chat failed: engine error: RuntimeError: boom",
        "POST /v1/chat/completions failed: engine error: RuntimeError: boom",
    ]


def test_an_unexpected_failure_outside_chat_is_a_500_and_one_log_line(
    failing: tuple[FailingEngine, str], server_log: list[str]
) -> None:
    engine, url = failing
    engine.listing_fails = True
    try:
        native = httpx.get(url + "/api/tags")
        compat = httpx.get(url + "/v1/models")
    finally:
        engine.listing_fails = False
    assert native.status_code == 500 and native.json() == {"error": "internal error: OSError: disk gone"}
    assert compat.status_code == 500 and compat.json()["error"]["message"] == "internal error: OSError: disk gone"
    assert server_log == [
        "GET /api/tags failed: internal error: OSError: disk gone",
        "GET /v1/models failed: internal error: OSError: disk gone",
    ]


def test_engine_failure_mid_stream_is_an_error_line(failing: tuple[FailingEngine, str], server_log: list[str]) -> None:
    engine, url = failing
    engine.fail_after = 1
    received: list[str] = []
    with pytest.raises(ollama.ResponseError, match="boom"):
        for part in ollama.Client(host=url).chat(model=MODEL, messages=HI, stream=True):
            received.append(part.message.content)
    assert received == ["t0 "]
    with openai.OpenAI(base_url=url + "/v1", api_key="ollama", max_retries=0) as client:
        with pytest.raises(openai.APIError, match="boom"):
            list(client.chat.completions.create(model=MODEL, messages=HI, stream=True))
    assert server_log == [
        "POST /api/chat failed mid-stream: engine error: RuntimeError: boom",
        "POST /v1/chat/completions failed mid-stream: engine error: RuntimeError: boom",
    ]
