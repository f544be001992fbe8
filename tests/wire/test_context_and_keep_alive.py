"""`context_length` and `keep_alive` as settings, and a prompt that fills the context reported, not silent."""

from __future__ import annotations

import asyncio

import pytest

from alloy_nb import ConfigurationError, ask
from alloy_nb.testing import ScriptedEngine, ScriptedTurn as Reply, ServerThread

LONG = "word " * 400


def test_context_length_and_keep_alive_reach_the_native_wire(server) -> None:
    ask("Hi", context_length=4096, keep_alive="10m", api="native")
    body = server.requests[0].body
    assert body["options"]["num_ctx"] == 4096 and body["keep_alive"] == "10m"
    ask("Hi", keep_alive="300", api="native")  # seconds as text are sent as a number, as Ollama needs
    assert server.requests[1].body["keep_alive"] == 300


@pytest.mark.parametrize("setting", [{"context_length": 4096}, {"keep_alive": "5m"}])
def test_they_are_refused_on_openai_chat_rather_than_dropped(server, setting: dict) -> None:
    name = next(iter(setting))
    with pytest.raises(ConfigurationError, match=rf"^{name} only exists on Ollama's native API.*api='native'\."):
        ask("Hi", api="openai_chat", **setting)
    assert server.requests == []


def test_a_prompt_that_fills_the_context_is_reported(server) -> None:
    _, trace = ask.traced(LONG, context_length=256, api="native")
    assert server.requests[0].body["options"]["num_ctx"] == 256
    assert trace.responses[0].usage.prompt_tokens == 256  # the server cut the prompt to fit, as Ollama does
    [warning] = trace.warnings
    assert warning.startswith("The prompt filled the context window: 256 tokens read of 256")
    assert "context_length=512" in warning
    assert "⚠ The prompt filled the context window" in trace.summary()


def test_a_prompt_that_fits_gives_no_warning(server) -> None:
    _, trace = ask.traced("Hi", context_length=256)
    assert trace.warnings == []


def test_without_context_length_the_loaded_models_context_is_used(server, api: str) -> None:
    server.script(Reply(text="ok", prompt_tokens=8000))  # the scripted host reports an 8192-token context in /api/ps
    _, trace = ask.traced("Hi", api=api)
    assert trace.warnings and "8,000 tokens read of 8,192" in trace.warnings[0]
    server.script(Reply(text="ok", prompt_tokens=8000))
    _, trace = asyncio.run(ask.traced_async("Hi", api=api))
    assert trace.warnings and "of 8,192" in trace.warnings[0]


def test_streams_report_it_too(server) -> None:
    stream = ask.stream(LONG, context_length=128)
    "".join(stream)
    assert stream.trace.warnings and "128 tokens read of 128" in stream.trace.warnings[0]


def test_an_untagged_model_name_is_the_hosts_latest(api: str) -> None:
    """Ollama lists `llama3.1:latest`; `ollama:llama3.1` is the same model, so its context is found."""
    engine = ScriptedEngine(("llama3.1:latest",))
    with ServerThread(engine) as host:
        engine.script(Reply(text="ok", prompt_tokens=8000))
        _, trace = ask.traced("Hi", api=api, host=host.url, model="ollama:llama3.1")
    assert trace.warnings and "8,000 tokens read of 8,192" in trace.warnings[0]
