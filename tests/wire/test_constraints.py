"""Switchable constraints and one tool call per turn, as each strategy puts them on the wire through its SDK:
`constrained=False` sends no schema field and asks the server for no tool-call grammar (`_tool_grammar: false`);
`parallel_tool_calls=False` sends OpenAI's field; several calls in one reply anyway run one, the rest answered."""

from __future__ import annotations

from typing import Any

import pytest
from sample_tools import add
from sample_types import Invoice
from wire_shapes import UNSET, output_schema, system_prompt, tool_result_texts, tool_switch

import alloy_nb
from alloy_nb import ask
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply

INVOICE = '{"number": "A-1", "total": 9.5}'


def test_unconstrained_typed_output_keeps_the_schema_in_the_prompt_only(server, api: str) -> None:
    server.script(Reply(text=INVOICE), Reply(text=INVOICE))
    constrained, _ = ask.traced("Bill it.", output=Invoice, api=api)
    unconstrained, trace = ask.traced("Bill it.", output=Invoice, api=api, constrained=False)
    enforced, free = (r.body for r in server.requests)
    assert constrained == unconstrained == Invoice(number="A-1", total=9.5)
    assert output_schema(enforced, api) is not None
    assert output_schema(free, api) is None
    assert '"total"' in (system_prompt(free, api) or "")  # the model is still told the schema
    assert tool_switch(free, api, "_tool_grammar") is tool_switch(free, api, "parallel_tool_calls") is UNSET  # no tools
    assert trace.request_settings["constrained"] is False
    assert "constraints: schema in the prompt only" in trace.summary()


@pytest.mark.parametrize("how", ["whole", "async", "stream"])
def test_unconstrained_tools_ask_the_server_for_no_tool_grammar(server, api: str, how: str) -> None:
    server.script(Reply(tool_calls=[Call("add", {"a": 2, "b": 3})]), Reply(text="5"))
    assert _call(how, "What is 2 + 3?", tools=[add], api=api, constrained=False) == "5"
    first, second = (r.body for r in server.requests)
    assert tool_switch(first, api, "_tool_grammar") is False and tool_switch(second, api, "_tool_grammar") is False
    assert tool_switch(first, api, "parallel_tool_calls") is UNSET


def test_constrained_calls_send_neither_field(server, api: str) -> None:
    server.script(Reply(tool_calls=[Call("add", {"a": 2, "b": 3})]), Reply(text="5"))
    ask("What is 2 + 3?", tools=[add], api=api, constrained=True)
    for request in server.requests:
        assert tool_switch(request.body, api, "_tool_grammar") is UNSET
        assert tool_switch(request.body, api, "parallel_tool_calls") is UNSET


@pytest.mark.parametrize("how", ["whole", "async", "stream"])
def test_one_tool_call_per_turn_is_asked_on_every_api(server, api: str, how: str) -> None:
    server.script(Reply(tool_calls=[Call("add", {"a": 2, "b": 3})]), Reply(text="5"))
    assert _call(how, "What is 2 + 3?", tools=[add], api=api, parallel_tool_calls=False) == "5"
    first, second = (r.body for r in server.requests)
    assert tool_switch(first, api, "parallel_tool_calls") is False
    assert tool_switch(second, api, "parallel_tool_calls") is False
    assert tool_switch(first, api, "_tool_grammar") is UNSET


def test_the_finalize_turn_offers_no_tools_so_it_sends_no_tool_fields(server, api: str) -> None:
    server.script(Reply(text="no JSON here"), Reply(text=INVOICE))
    ask("Bill it.", output=Invoice, tools=[add], api=api, constrained=False, parallel_tool_calls=False)
    asked, finalize = (r.body for r in server.requests)
    assert tool_switch(asked, api, "_tool_grammar") is tool_switch(asked, api, "parallel_tool_calls") is False
    assert tool_switch(finalize, api, "_tool_grammar") is tool_switch(finalize, api, "parallel_tool_calls") is UNSET
    assert output_schema(finalize, api) is None  # unconstrained: the finalize turn asks in the prompt only


def test_several_calls_in_one_turn_run_only_the_first_when_one_per_turn(server, api: str) -> None:
    server.script(
        Reply(tool_calls=[Call("add", {"a": 1, "b": 1}), Call("add", {"a": 2, "b": 2}), Call("add", {"a": 3, "b": 3})]),
        Reply(text="done"),
    )
    value, trace = ask.traced("Three sums", tools=[add], api=api, parallel_tool_calls=False)
    assert value == "done"
    assert [event.result for event in trace.tool_events] == ["2"]  # only the first ran
    results = tool_result_texts(server.requests[1].body, api)
    assert results[0] == "2"
    assert len(results) == 3  # every call id still gets a result
    assert all("one tool call per turn" in text and "again next turn" in text for text in results[1:])


def test_several_calls_all_run_when_parallel_calls_are_allowed(server, api: str) -> None:
    server.script(Reply(tool_calls=[Call("add", {"a": 1, "b": 1}), Call("add", {"a": 2, "b": 2})]), Reply(text="ok"))
    _, trace = ask.traced("Two sums", tools=[add], api=api, parallel_tool_calls=True)
    assert [event.result for event in trace.tool_events] == ["2", "4"]
    assert tool_switch(server.requests[0].body, api, "parallel_tool_calls") is True


def test_settings_from_the_environment_reach_the_wire(server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOY_CONSTRAINED", "false")
    monkeypatch.setenv("ALLOY_PARALLEL_TOOL_CALLS", "false")
    alloy_nb.reset_configuration()
    server.script(Reply(tool_calls=[Call("add", {"a": 2, "b": 3})]), Reply(text="5"))
    ask("What is 2 + 3?", tools=[add])
    body = server.requests[0].body  # the default strategy: native, the switches in `options`
    assert (tool_switch(body, "native", "_tool_grammar"), tool_switch(body, "native", "parallel_tool_calls")) == (
        False,
        False,
    )
    assert server.requests[0].tool_grammar is False and server.requests[0].parallel_tool_calls is False


def test_replay_sends_the_constraints_again(server, api: str, tmp_path) -> None:
    from alloy_nb import logs

    alloy_nb.configure(log=True, log_db=str(tmp_path / "calls.db"))
    server.script(Reply(text=INVOICE), Reply(text=INVOICE))
    _, trace = ask.traced("Bill it.", output=Invoice, api=api, constrained=False)
    logs.replay(trace.id, namespace={"Invoice": Invoice})
    replayed = server.requests[1].body
    assert output_schema(replayed, api) is None


def _call(how: str, prompt: str, **options: Any) -> Any:
    if how == "whole":
        return ask(prompt, **options)
    if how == "async":
        import asyncio

        return asyncio.run(ask.async_(prompt, **options))
    stream = ask.stream(prompt, **options)
    "".join(stream)
    return stream.value


SCHEMA_FIELDS = {"native": "format", "openai_chat": "response_format", "openai_responses": "text.format"}


def test_the_trace_view_names_the_constraints_each_request_went_out_under(server, api: str) -> None:
    server.script(Reply(text=INVOICE), Reply(text=INVOICE))
    _, enforced = ask.traced("Bill it.", output=Invoice, api=api)
    _, free = ask.traced("Bill it.", output=Invoice, api=api, constrained=False)
    said = f"constraints: output schema enforced by the server ({SCHEMA_FIELDS[api]})"
    assert said in enforced._repr_html_() and said in enforced.summary()
    assert "constraints: schema in the prompt only" in free._repr_html_()
    assert "enforced" not in free._repr_html_()


def test_the_trace_view_names_the_tool_call_grammar_and_one_call_per_turn(server, api: str) -> None:
    server.script(*[Reply(tool_calls=[Call("add", {"a": 2, "b": 3})]), Reply(text="5")] * 2)
    _, grammar = ask.traced("What is 2 + 3?", tools=[add], api=api)
    _, free = ask.traced("What is 2 + 3?", tools=[add], api=api, constrained=False, parallel_tool_calls=False)
    html = grammar._repr_html_()
    assert html.count("constraints: tool-call grammar if the server has one") == 2  # one line per request
    assert "no tool-call grammar" not in html
    line = "constraints: no tool-call grammar · one tool call per turn"
    assert free._repr_html_().count(line) == 2 and free.summary().count(line) == 2


def test_a_text_call_without_tools_says_nothing_about_constraints(server, api: str) -> None:
    server.script(Reply(text="Hello."))
    _, trace = ask.traced("Say hello.", api=api)
    assert "constraints" not in trace._repr_html_() and "constraints" not in trace.summary()


def test_the_rendered_prompt_says_no_grammar_when_unconstrained(server) -> None:
    from alloy_nb import rendered_prompt

    assert rendered_prompt("Add 2 and 3.", tools=[add]).grammar is not None
    assert rendered_prompt("Add 2 and 3.", tools=[add], constrained=False).grammar is None
    assert rendered_prompt("Bill it.", output=Invoice).grammar is not None
    assert rendered_prompt("Bill it.", output=Invoice, constrained=False).grammar is None
    one = rendered_prompt("Add 2 and 3.", tools=[add], parallel_tool_calls=False)
    assert one.grammar is not None and one.grammar["schema"]["anyOf"][0]["properties"]["tool_calls"]["maxItems"] == 1
    assert "Call one tool at a time" in one.text and "use the tool results you have" in one.text
