"""Replay a logged call through the real SDKs, with changes, and see the diff."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sample_types import Invoice

import alloy_nb
from alloy_nb import ConfigurationError, ask, logs, tool
from alloy_nb._choices import STRATEGIES
from alloy_nb._replay import logged_call
from alloy_nb._trace import Trace
from alloy_nb.testing import (
    ScriptedEngine,
    ScriptedServer,
    ScriptedToolCall as Call,
    ScriptedTurn as Reply,
    ServerThread,
)


@pytest.fixture(autouse=True)
def _log(tmp_path: Path, alloy_at_server) -> None:
    alloy_nb.configure(log_db=str(tmp_path / "calls.db"))


@tool
def lookup_price(item: str) -> str:
    """The price of an item."""
    return f"{item}: 4 EUR"


@pytest.mark.parametrize("api", STRATEGIES)
def test_a_replay_sends_the_same_call_and_changes_only_what_is_asked(server, api: str) -> None:
    server.script(Reply(text="Paris."), Reply(text="Paris, France."))
    _, first = ask.traced("Capital of France?", api=api, system="Be brief.", temperature=0.2, max_tokens=30)
    replayed = logs.replay(first.id, model="ollama:qwen3:0.6b", think=False)
    original, again = (request.body for request in server.requests)
    assert again["model"] == "qwen3:0.6b" and server.requests[0].messages == server.requests[1].messages
    if api == "native":
        assert again["options"] == original["options"] == {"temperature": 0.2, "num_predict": 30}
    elif api == "openai_chat":
        assert (again["temperature"], again["max_tokens"]) == (0.2, 30)
    else:
        assert (again["temperature"], again["max_output_tokens"], again["instructions"]) == (0.2, 30, "Be brief.")
    assert replayed.value == "Paris, France." and not replayed.same_reply
    page = replayed._repr_html_()
    assert "logged · ollama:smollm2:135m" in page and "replayed · ollama:qwen3:0.6b" in page
    assert '<div class="av-added">+Paris, France.</div>' in page


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
    server.script(
        Reply(tool_calls=[Call("lookup_price", {"item": "tea"})]),
        Reply(text="Tea costs 4 EUR."),
        Reply(tool_calls=[Call("lookup_price", {"item": "tea"})]),
        Reply(text="Still 4 EUR."),
    )
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


@pytest.fixture
def elsewhere() -> Iterator[ScriptedServer]:
    """A second server, standing for any host a crafted trace could name."""
    engine = ScriptedEngine()
    with ServerThread(engine) as thread:
        yield ScriptedServer(url=thread.url, engine=engine)


def _crafted(trace: Trace, **changes: Any) -> Trace:
    """`trace` as someone could rewrite it in a shared file or a log row."""
    data = json.loads(trace.to_json())
    data.update(changes)
    return Trace.from_json(json.dumps(data))


def test_a_replay_goes_to_the_configured_host_never_to_the_logged_one(server, elsewhere) -> None:
    alloy_nb.configure(headers={"X-Team-Token": "secret-token"})
    server.script(Reply(text="one"), Reply(text="two"))
    _, first = ask.traced("Say one.")
    crafted = _crafted(first, host=elsewhere.url)
    replayed = logs.replay(crafted)
    assert elsewhere.requests == [] and len(server.requests) == 2
    assert replayed.value == "two" and replayed.replayed.host == server.url
    page = replayed._repr_html_()
    assert f"The logged call went to {elsewhere.url}; the replay went to {server.url}" in page
    assert "pass host=... to send it elsewhere" in page


def test_a_replay_goes_to_another_host_only_when_the_caller_says_so(server, elsewhere) -> None:
    server.script(Reply(text="one"))
    elsewhere.script(Reply(text="from elsewhere"))
    _, first = ask.traced("Say one.")
    replayed = logs.replay(first, host=elsewhere.url)
    assert replayed.value == "from elsewhere" and len(elsewhere.requests) == 1 and len(server.requests) == 1


def test_a_replay_of_a_log_row_with_a_foreign_host_stays_on_the_configured_host(server, elsewhere, tmp_path) -> None:
    from alloy_nb._log.store import connect, insert_many, row_of

    server.script(Reply(text="one"), Reply(text="two"))
    _, first = ask.traced("Say one.")
    with connect(tmp_path / "shared.db") as conn:
        insert_many(conn, [row_of(_crafted(first, id="c0ffee01", host=elsewhere.url))])
    conn.close()
    alloy_nb.configure(log_db=str(tmp_path / "shared.db"))
    assert logs.replay("c0ffee01").value == "two" and elsewhere.requests == []


@pytest.mark.parametrize(
    "smuggled",
    [
        {"host": "ELSEWHERE"},
        {"headers": {"X-Team-Token": "stolen"}},
        {"log": False},
        {"timeout": 0.0001},
    ],
    ids=["host", "headers", "log", "timeout"],
)
def test_a_crafted_trace_sets_only_request_settings_on_its_replay(server, elsewhere, tmp_path, smuggled) -> None:
    alloy_nb.configure(headers={"X-Team-Token": "secret-token"}, log_db=str(tmp_path / "calls.db"))
    server.script(Reply(text="one"), Reply(text="two"))
    _, first = ask.traced("Say one.", temperature=0.5)
    setting = {key: elsewhere.url if value == "ELSEWHERE" else value for key, value in smuggled.items()}
    crafted = _crafted(first, request_settings={**first.request_settings, **setting})
    replayed = logs.replay(crafted)
    assert elsewhere.requests == [] and len(server.requests) == 2
    assert server.requests[-1].headers["x-team-token"] == "secret-token"
    assert server.requests[-1].body["options"]["temperature"] == 0.5  # the real request settings still replay
    assert replayed.value == "two" and replayed.replayed.retries == []
    logs.flush()
    assert {call.id for call in logs.search()} >= {replayed.replayed.id}  # logging stayed on


@tool(name="open")
def open_tool(file: str, mode: str = "r") -> str:
    """Open a file (a tool that happens to share a builtin's name)."""
    return f"opened {file}"


def test_a_logged_tool_name_never_binds_a_notebook_callable(server, tmp_path) -> None:
    victim = tmp_path / "notes.txt"
    victim.write_text("keep me")
    opened = Call("open", {"file": str(victim), "mode": "w"})
    server.script(Reply(tool_calls=[opened]), Reply(text="Done."), Reply(tool_calls=[opened]), Reply(text="Again."))
    _, first = ask.traced("Open the notes.", tools=[open_tool])
    replayed = logs.replay(first, namespace={"open": open, "system": print})  # as in IPython's user_ns
    assert victim.read_text() == "keep me"
    tool_results = [m["content"] for m in server.requests[-1].body["messages"] if m["role"] == "tool"]
    assert tool_results == [f"opened {victim}"]  # the logged result
    assert replayed.logged_tools == ("open",) and replayed.value == "Again."
    assert "open answered with the logged results" in replayed._repr_html_()


def test_the_alloy_replay_magic_binds_no_ipython_builtin(server, tmp_path) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "alloy_nb")
    assert callable(shell.user_ns.get("open")) or callable(open)
    shell.user_ns.setdefault("open", open)
    victim = tmp_path / "notes.txt"
    victim.write_text("keep me")
    opened = Call("open", {"file": str(victim), "mode": "w"})
    server.script(Reply(tool_calls=[opened]), Reply(text="Done."), Reply(tool_calls=[opened]), Reply(text="Again."))
    _, first = ask.traced("Open the notes.", tools=[open_tool])
    replayed = shell.run_line_magic("alloy", f"replay {first.id}")
    assert victim.read_text() == "keep me" and replayed.logged_tools == ("open",)


def test_alloy_tools_in_the_namespace_or_passed_in_run_again(server) -> None:
    server.script(*[Reply(tool_calls=[Call("lookup_price", {"item": "tea"})]), Reply(text="4 EUR.")] * 3)
    _, first = ask.traced("Price of tea?", tools=[lookup_price])
    calls: list[str] = []

    @tool(name="lookup_price")
    def counting_price(item: str) -> str:
        """The price of an item."""
        calls.append(item)
        return f"{item}: 5 EUR"

    by_namespace = logs.replay(first, namespace={"prices": counting_price})
    passed = logs.replay(first, tools=[counting_price])
    assert calls == ["tea", "tea"] and by_namespace.logged_tools == passed.logged_tools == ()
    results = [m["content"] for m in server.requests[-1].body["messages"] if m["role"] == "tool"]
    assert results == ["tea: 5 EUR"] and "answered with the logged results" not in passed._repr_html_()


def test_a_logged_output_type_names_a_class_never_a_function(server) -> None:
    server.script(Reply(text='{"number": "A-1", "total": 3}'))
    _, first = ask.traced("Invoice.", output=Invoice)
    with pytest.raises(alloy_nb.ConfigurationError, match="pass output=Invoice"):
        logs.replay(first, namespace={"Invoice": print})


@pytest.mark.parametrize("parameters", ["abc", [1]])
def test_a_crafted_tool_schema_is_a_clear_error_before_anything_is_sent(server, parameters: Any) -> None:
    server.script(Reply(text="fine"))
    _, trace = ask.traced("Hello.")
    shared = trace.to_dict() | {"tool_schemas": [{"name": "add", "parameters": parameters}]}
    sent = len(server.requests)
    with pytest.raises(ConfigurationError, match="cannot be replayed"):
        logs.replay(Trace.from_json(json.dumps(shared)))
    assert len(server.requests) == sent
