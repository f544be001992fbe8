"""Capabilities from `/api/show`: `model_info`, and requests a model cannot serve refused before sending."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator

import httpx
import ollama
import pytest
from odd_hosts import LOGIN_PAGE, OddHost
from sample_tools import add
from starlette.responses import HTMLResponse, JSONResponse
from wire_shapes import thinking_setting

import alloy_nb
from alloy_nb import ConfigurationError, ModelNotFound, ServerError, _capabilities as capabilities, ask, model_info
from alloy_nb._capabilities import _cache, forget, is_known, known, parse_show
from alloy_nb._config import current
from alloy_nb.server import ModelCard
from alloy_nb.testing import ScriptedEngine, ScriptedToolCall as Call, ScriptedTurn as Reply, ServerThread


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    forget()
    yield
    forget()


def test_model_info_reads_what_the_host_says(server) -> None:
    info = model_info("ollama:gpt-oss:20b")
    assert info.capabilities == ("completion", "tools", "thinking")
    assert (info.think_levels, info.think_default, info.context_length) == (("low", "medium", "high"), "medium", 8192)
    assert info.parameter_size == "20B" and info.family == "gpt-oss"
    assert model_info("ollama:gemma3:4b").capabilities == ("completion", "vision")
    assert model_info("ollama:qwen3:0.6b").think_values == (False, True)
    assert "thinking levels low, medium, high (default medium)" in str(info)
    assert "<b>gpt-oss:20b</b>" in info._repr_html_()


def test_model_info_is_read_once_and_forgotten_after_a_pull(server) -> None:
    config = current(model="ollama:qwen3:0.6b")
    assert not is_known(config)
    model_info("ollama:qwen3:0.6b")
    assert is_known(config)
    forget(server.url)
    assert not is_known(config)


def test_model_info_for_a_missing_model_lists_what_is_there(server) -> None:
    with pytest.raises(ModelNotFound, match=r"Model 'nosuch:1b' is not available .* Models there: gemma3:4b, "):
        model_info("ollama:nosuch:1b")


def test_tools_for_a_model_without_tools_are_refused_naming_ones_that_can(server, api: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        ask("Add 1 and 2.", tools=[add], model="ollama:gemma3:4b", api=api)
    message = str(info.value)
    assert message.startswith(
        "gemma3:4b cannot call tools (its capabilities: completion, vision), so nothing was sent."
    )
    assert "Models on http://127.0.0.1:" in message and "smollm2:135m" in message and "qwen3:0.6b" in message
    assert server.requests == []


def test_thinking_for_a_model_that_cannot_think_is_refused(server, api: str) -> None:
    with pytest.raises(ConfigurationError, match=r"smollm2:135m cannot think .* can: gpt-oss:20b, qwen3:0\.6b\."):
        ask("Hi", think=True, api=api)
    with pytest.raises(ConfigurationError, match="cannot think"):
        ask.stream("Hi", think="low", api=api)

    async def streamed() -> str:
        return "".join([piece async for piece in ask.stream_async("Hi", think=True, api=api)])

    with pytest.raises(ConfigurationError, match="cannot think"):
        asyncio.run(streamed())
    assert server.requests == []
    ask("Hi", think=False, api=api)  # off is never refused
    assert len(server.requests) == 1


def test_a_level_the_model_does_not_offer_names_what_it_takes(server) -> None:
    with pytest.raises(
        ConfigurationError, match=r"think='high' is not a setting qwen3:0\.6b offers .*it takes False, True\."
    ):
        ask("Hi", think="high", model="ollama:qwen3:0.6b")
    assert server.requests == []


def test_async_calls_are_fitted_the_same_way(server, api: str) -> None:
    with pytest.raises(ConfigurationError, match="cannot call tools"):
        asyncio.run(ask.async_("Add.", tools=[add], model="ollama:gemma3:4b", api=api))
    server.script(Reply(tool_calls=[Call("add", {"a": 1, "b": 2})]), Reply(text="3"))
    assert asyncio.run(ask.async_("Add.", tools=[add], think=True, model="ollama:gpt-oss:20b", api=api)) == "3"
    assert thinking_setting(server.requests[0].body, api) == "medium"


class _OlderServer(ScriptedEngine):
    """An Ollama from before /api/show reported capabilities."""

    def models(self) -> list[ModelCard]:
        return [dataclasses.replace(card, capabilities=(), think_values=()) for card in super().models()]


def test_nothing_is_refused_when_the_host_cannot_say() -> None:
    engine = _OlderServer()
    with ServerThread(engine) as thread:
        alloy_nb.configure(host=thread.url)
        assert model_info("ollama:gemma3:4b").capabilities == ()
        assert isinstance(ask("Add.", tools=[add], model="ollama:gemma3:4b"), str)
    assert engine.requests and [t.name for t in engine.requests[0].tools] == ["add"]  # sent, not refused


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"model": "gemma3:4b", "tools": [add.spec()]}, "registry.ollama.ai/library/gemma3:4b does not support tools"),
        ({"model": "smollm2:135m", "think": True}, '"smollm2:135m" does not support thinking'),
        ({"model": "smollm2:135m", "images": ["aGk="]}, "this model is missing data required for image input"),
    ],
)
def test_the_server_refuses_what_a_model_cannot_do_with_ollamas_words(server, body: dict, error: str) -> None:
    images = body.pop("images", None)
    message = {"role": "user", "content": "hi", **({"images": images} if images else {})}
    reply = httpx.post(f"{server.url}/api/chat", json={**body, "messages": [message], "stream": False}, timeout=10)
    assert (reply.status_code, reply.json()) == (400, {"error": error})


def test_the_v1_api_reads_reasoning_effort_and_data_url_images(server) -> None:
    url = f"{server.url}/v1/chat/completions"
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGk="}}
    content = [{"type": "text", "text": "What is this?"}, image]
    body = {"model": "gemma3:4b", "messages": [{"role": "user", "content": content}], "reasoning_effort": "none"}
    assert httpx.post(url, json=body, timeout=10).status_code == 200
    received = server.requests[-1]
    assert received.messages[-1]["images"] == ["aGk="] and received.think is False
    image["image_url"]["url"] = "https://example.com/cat.png"
    reply = httpx.post(url, json=body, timeout=10)
    assert reply.status_code == 400 and "base64 data URLs" in reply.json()["error"]["message"]


def test_max_is_a_thinking_level_sent_only_where_the_model_offers_it(server) -> None:
    assert current(think="MAX").think == "max"
    with pytest.raises(ConfigurationError, match=r"think='max' is not a setting gpt-oss:20b offers .*it takes 'low'"):
        ask("Hi", think="max", model="ollama:gpt-oss:20b")
    assert server.requests == []


def test_a_model_missing_at_first_is_found_once_pulled_from_elsewhere(server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capabilities, "MISSING_FOR_S", 0.3)
    with pytest.raises(ModelNotFound):
        model_info("ollama:llava:7b")
    ollama.Client(host=server.url).pull("llava:7b")  # not through alloy_nb: nothing told it
    with pytest.raises(ModelNotFound):
        model_info("ollama:llava:7b")  # the miss holds a moment: a host that never knows is not asked each call
    time.sleep(0.35)
    assert model_info("ollama:llava:7b").model == "ollama:llava:7b"


def test_a_host_that_describes_no_model_is_asked_once_a_while_not_on_every_call() -> None:
    with OddHost(
        lambda: JSONResponse({"error": "not found"}, status_code=404), paths=("/api/show",)
    ).running() as proxy:
        config = current(model="ollama:qwen3:0.6b", host=proxy.url)
        assert [known(config), known(config), known(config)] == [None, None, None] and is_known(config)
        assert proxy.paths == ["/api/show"]


def test_a_host_answering_show_with_a_page_or_an_error_is_one_clear_error() -> None:
    with OddHost(lambda: HTMLResponse(LOGIN_PAGE), paths=("/api/show",)).running() as proxy:
        with pytest.raises(ServerError, match="not JSON") as page:
            model_info("ollama:qwen3:0.6b", host=proxy.url)
    assert page.value.status_code == 200
    overloaded = OddHost(lambda: JSONResponse({"error": "overloaded"}, status_code=500), paths=("/api/show",))
    with overloaded.running() as failing:
        with pytest.raises(ServerError, match=r"answered 500 when asked what qwen3:0.6b can do") as refused:
            model_info("ollama:qwen3:0.6b", host=failing.url)
    assert refused.value.status_code == 500


def test_the_descriptions_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capabilities, "_CACHE_LIMIT", 8)  # the bound's rule, on a few models (256 in use)
    names = [f"m{n}:1b" for n in range(12)]
    with ServerThread(ScriptedEngine(model_names=names)) as thread:
        for name in names:
            model_info(f"ollama:{name}", host=thread.url)
    assert len(_cache) == 8 and is_known(current(model=f"ollama:{names[-1]}", host=thread.url))
    assert not is_known(current(model=f"ollama:{names[0]}", host=thread.url))  # the oldest went first


def test_a_host_s_words_are_shown_not_obeyed_in_a_terminal() -> None:
    body = {"capabilities": ["tools\x1b[2J"], "details": {"family": "llama\x1b]52;c;SGk=\x07"}}
    info = parse_show("ollama:m", "h", body)
    assert "\x1b" not in str(info) and "\x07" not in str(info) and "\x1b" not in "".join(info.capabilities)
