"""Replay a logged call through the real SDKs, with changes, and see the diff."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_types import Invoice

import alloy_nb
from alloy_nb import ask, logs, tool
from alloy_nb.log.replay import logged_call
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply


@pytest.fixture(autouse=True)
def _log(tmp_path: Path, alloy_at_server) -> None:
    alloy_nb.configure(log_db=str(tmp_path / "calls.db"))


@tool
def lookup_price(item: str) -> str:
    """The price of an item."""
    return f"{item}: 4 EUR"


@pytest.mark.parametrize("api", ["native", "openai_chat"])
def test_a_replay_sends_the_same_call_and_changes_only_what_is_asked(server, api: str) -> None:
    server.script(Reply(text="Paris."), Reply(text="Paris, France."))
    _, first = ask.traced("Capital of France?", api=api, system="Be brief.", temperature=0.2, max_tokens=30)
    replayed = logs.replay(first.id, model="ollama:qwen3:0.6b", think=False)
    original, again = (request.body for request in server.requests)
    assert again["model"] == "qwen3:0.6b" and original["messages"] == again["messages"]
    if api == "native":
        assert again["options"] == original["options"] == {"temperature": 0.2, "num_predict": 30}
    else:
        assert (again["temperature"], again["max_tokens"]) == (0.2, 30)
    assert replayed.value == "Paris, France." and not replayed.same_reply
    page = replayed._repr_html_()
    assert "logged · ollama:smollm2:135m" in page and "replayed · ollama:qwen3:0.6b" in page
    assert "<div style='background:rgba(40,170,60,.18)'>+Paris, France.</div>" in page


def test_a_replay_on_the_other_strategy_keeps_system_history_and_typed_output(server) -> None:
    server.script(Reply(text='{"number": "A-1", "total": 3}'), Reply(text='{"number": "A-1", "total": 4}'))
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    _, first = ask.traced("Invoice.", output=Invoice, history=history, system="Be exact.")
    call = logged_call(first)
    assert (call.prompt, call.system, call.history) == ("Invoice.", "Be exact.", history)
    with pytest.raises(alloy_nb.ConfigurationError, match="pass output=Invoice"):
        logs.replay(first)
    replayed = logs.replay(first, api="openai_chat", namespace={"Invoice": Invoice})
    assert replayed.value == Invoice(number="A-1", total=4.0) and replayed.replayed.strategy == "openai_chat"
    system, *rest = [m["content"] for m in server.requests[-1].body["messages"]]
    assert system.startswith("Be exact.\n\nReply with only a JSON value") and system.count("Be exact.") == 1
    assert rest == ["Hi", "Hello", "Invoice."]


def test_a_tool_that_is_gone_answers_with_its_logged_results(server) -> None:
    server.script(Reply(tool_calls=[Call("lookup_price", {"item": "tea"})]), Reply(text="Tea costs 4 EUR."),
                  Reply(tool_calls=[Call("lookup_price", {"item": "tea"})]), Reply(text="Still 4 EUR."))
    _, first = ask.traced("Price of tea?", tools=[lookup_price])
    replayed = logs.replay(first.id)  # no namespace: the function is "gone"
    tool_results = [m for m in server.requests[-1].body["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_results] == ["tea: 4 EUR"]
    assert server.requests[-2].body["tools"] == server.requests[0].body["tools"]  # the logged schema, as sent
    assert replayed.value == "Still 4 EUR."


def test_the_diff_escapes_everything(server) -> None:
    server.script(Reply(text="<script>alert(1)</script>"), Reply(text="<img src=x onerror=alert(2)>"))
    _, first = ask.traced("<b>prompt</b>")
    page = logs.replay(first)._repr_html_()
    assert "<script>" not in page and "<img" not in page and "<b>prompt" not in page
    assert "+&lt;img src=x onerror=alert(2)&gt;" in page


def test_alloy_replay_magic_uses_the_notebook_namespace(server) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "alloy_nb")
    server.script(Reply(text="one"), Reply(text="two"))
    _, first = ask.traced("Say one.")
    replayed = shell.run_line_magic("alloy", f"replay {first.id} --max-tokens 5")
    assert replayed.value == "two" and server.requests[-1].body["options"] == {"num_predict": 5}
