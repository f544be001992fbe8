"""Inputs that used to give a wrong message or a lost trace: each now gives the one a user expects."""

from __future__ import annotations

import sys

import pytest
from IPython.core.error import UsageError

import alloy_nb
from alloy_nb import ask, last_trace, tool
from alloy_nb._choices import STRATEGIES
from alloy_nb._notebook.prompt_template import interpolate
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply


def test_a_tool_returning_a_lone_surrogate_sends_a_replacement_character(server) -> None:
    @tool
    def listing() -> list[str]:
        """Names in a folder."""
        return ["caf\udce9.txt"]

    server.script(Reply(tool_calls=[Call("listing", {})]), Reply(text="done"))
    value, trace = ask.traced("List.", tools=[listing])
    assert value == "done"
    sent = [m for m in server.requests[1].body["messages"] if m["role"] == "tool"]
    assert sent[0]["content"] == '["caf\ufffd.txt"]'
    assert "caf\ufffd" in trace.to_json()


def test_sys_exit_in_a_tool_is_a_failed_tool_not_the_end_of_the_program(server) -> None:
    @tool
    def quit_now() -> str:
        """Exit."""
        sys.exit(3)

    server.script(Reply(tool_calls=[Call("quit_now", {})]), Reply(text="recovered"))
    value, trace = ask.traced("Go.", tools=[quit_now])
    assert value == "recovered"
    assert trace.tool_events[0].error == "Tool 'quit_now' raised SystemExit: 3"


def test_after_a_tool_that_calls_ask_the_last_trace_is_the_outer_call(server) -> None:
    @tool
    def inner() -> str:
        """Ask another model."""
        return ask("inner question")

    server.script(Reply(tool_calls=[Call("inner", {})]), Reply(text="inner answer"), Reply(text="outer answer"))
    assert ask("outer question", tools=[inner]) == "outer answer"
    assert last_trace().result == "outer answer"
    assert [t.result for t in alloy_nb.recent_traces()[-2:]] == ["inner answer", "outer answer"]


def test_a_negative_cell_number_in_a_prompt_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"take a cell number, like \{In\[3\]\}"):
        interpolate("Explain {In[-1]}", {"In": ["", "1 + 1"]}, {})


@pytest.mark.parametrize("api", STRATEGIES)
def test_a_missing_model_on_the_embedded_server_gets_the_embedded_advice(server, api: str) -> None:
    with pytest.raises(alloy_nb.ModelNotFound) as missing:
        ask("hi", model="ollama:nosuch:1b", api=api)
    message = str(missing.value)
    assert "Models there: gemma3:4b, gpt-oss:20b, llama3.1:8b, qwen3:0.6b, smollm2:135m." in message
    assert "alloy-nb serve --model nosuch:1b=PATH.gguf" in message and "ollama pull" not in message


async def test_the_async_path_gives_the_same_advice(server) -> None:
    with pytest.raises(alloy_nb.ModelNotFound, match=r"alloy-nb serve --model nosuch:1b=PATH\.gguf"):
        await ask.async_("hi", model="ollama:nosuch:1b")


def test_a_404_that_is_not_about_the_model_is_not_called_a_missing_model(server) -> None:
    server.script(Reply(status=404, error="404 page not found"))
    with pytest.raises(alloy_nb.ServerError, match="answered HTTP 404: 404 page not found"):
        ask("hi")


def test_the_named_settings_win_over_the_same_raw_option(server) -> None:
    ask("hi", temperature=0.0, max_tokens=5, extra={"ollama_options": {"temperature": 0.8, "num_predict": 99}})
    assert server.requests[0].body["options"] == {"temperature": 0.0, "num_predict": 5}
