"""Every kind of call becomes spans in the GenAI conventions: a call span, a chat span per request,
an execute_tool span per tool run, with the right parents, kinds, attributes and failures."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
from opentelemetry.sdk.trace import TracerProvider
from sample_tools import add

from alloy_nb import ServerError, ask, command
from alloy_nb.logs import replay
from alloy_nb.testing import ScriptedToolCall, ScriptedTurn as Reply

MODEL = "ollama:llama3.1:8b"
CHAT = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "ollama", "gen_ai.request.model": "llama3.1:8b"}
CONTENT = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result")


def tool_turns() -> tuple[Reply, Reply]:
    return Reply(tool_calls=[ScriptedToolCall("add", {"a": 2, "b": 3})]), Reply(text="It is 5.")


def test_a_tool_call_is_a_call_span_over_its_chats_and_its_tool(server, spans, api: str) -> None:
    server.script(*tool_turns())
    value, trace = ask.traced("Add 2 and 3.", tools=[add], api=api, model=MODEL, temperature=0.3, max_tokens=50)
    assert value == "It is 5."
    call = spans.one("call ")
    chats, tool = spans.named("chat "), spans.one("execute_tool ")
    assert call["name"] == "call llama3.1:8b" and call["kind"] == "INTERNAL" and call["parent_id"] is None
    assert call["attributes"]["alloy_nb.strategy"] == api
    assert call["attributes"]["alloy_nb.model"] == "llama3.1:8b"
    assert not [key for key in call["attributes"] if key.startswith("gen_ai.")]  # no GenAI operation itself
    assert call["attributes"]["alloy_nb.call.id"] == trace.id
    assert call["attributes"]["alloy_nb.tools"] == ("add",)
    assert [chat["name"] for chat in chats] == ["chat llama3.1:8b"] * 2
    assert {span["parent_id"] for span in [*chats, tool]} == {call["span_id"]}
    assert {span["trace_id"] for span in [*chats, tool]} == {call["trace_id"]}
    host = urlsplit(server.url)
    for chat in chats:
        assert chat["kind"] == "CLIENT" and chat["status"] == "UNSET"
        assert chat["attributes"] | CHAT == chat["attributes"]
        assert chat["attributes"]["gen_ai.request.temperature"] == 0.3
        assert chat["attributes"]["gen_ai.request.max_tokens"] == 50
        assert chat["attributes"]["gen_ai.response.model"] == "llama3.1:8b"
        assert (chat["attributes"]["server.address"], chat["attributes"]["server.port"]) == (host.hostname, host.port)
        assert chat["attributes"]["gen_ai.usage.input_tokens"] > 0
        assert chat["attributes"]["gen_ai.usage.output_tokens"] > 0
        assert call["start"] <= chat["start"] < chat["end"] <= call["end"]
    expected_reasons = {"native": ("stop",), "openai_chat": ("tool_calls",), "openai_responses": ("tool_calls",)}[api]
    assert chats[0]["attributes"]["gen_ai.response.finish_reasons"] == expected_reasons
    assert chats[1]["attributes"]["gen_ai.response.finish_reasons"] == ("stop",)
    assert chats[0]["end"] <= tool["start"] <= tool["end"] <= chats[1]["start"]  # the tool ran between the turns
    assert tool["name"] == "execute_tool add" and tool["kind"] == "INTERNAL"
    assert tool["attributes"]["gen_ai.operation.name"] == "execute_tool"
    assert tool["attributes"]["gen_ai.tool.name"] == "add"
    assert tool["attributes"]["gen_ai.tool.call.id"] == trace.tool_events[0].call_id
    assert tool["attributes"]["gen_ai.tool.description"] == "Add two integers."
    everything = [*chats, tool, call]
    assert not [key for span in everything for key in span["attributes"] if key in CONTENT]  # not asked for


def test_a_stream_says_so_and_times_its_first_chunk(server, spans, api: str) -> None:
    server.script(Reply(chunks=["Hello ", "there"], delay=0.05, chunk_delay=0.01))
    stream = ask.stream("Hi", api=api, model=MODEL)
    assert "".join(stream) == "Hello there"
    chat, call = spans.one("chat "), spans.one("call ")
    assert chat["attributes"]["gen_ai.request.stream"] is True
    assert call["attributes"]["alloy_nb.stream"] is True
    assert chat["attributes"]["gen_ai.response.time_to_first_chunk"] >= 0.05
    assert chat["attributes"]["gen_ai.usage.output_tokens"] > 0


def test_a_streamed_tool_loop_has_its_tool_span(server, spans) -> None:
    server.script(*tool_turns())
    assert "".join(ask.stream("Add 2 and 3.", tools=[add], model=MODEL)) == "It is 5."
    call = spans.one("call ")
    assert [span["name"] for span in spans.all() if span["parent_id"] == call["span_id"]] == [
        "chat llama3.1:8b",
        "chat llama3.1:8b",
        "execute_tool add",
    ]


def test_a_request_retried_after_a_fault_shows_the_failure_and_the_retry(server, spans, api: str) -> None:
    server.script(Reply(status=503, error="overloaded"), Reply(text="fine"))
    assert ask("Hi", api=api, model=MODEL, retry_backoff=0) == "fine"
    failed, answered = spans.named("chat ")
    call = spans.one("call ")
    assert failed["status"] == "ERROR" and failed["attributes"]["error.type"] == "ServerError"
    assert "overloaded" not in failed["status_message"]  # an error message is content: not asked for
    assert answered["status"] == "UNSET" and "error.type" not in answered["attributes"]
    assert failed["end"] <= answered["start"]
    (name, retry), *_ = call["events"]
    assert name == "alloy_nb.retry"
    assert retry["alloy_nb.retry.scope"] == "request" and retry["error.type"] == "ServerError"
    assert call["status"] == "UNSET"


def test_a_call_retried_whole_numbers_its_attempts(server, spans) -> None:
    server.script(Reply(text="not a number"), Reply(text="still not"), Reply(text="42"))
    assert ask("How many?", output=int, model=MODEL, retry=2, retry_backoff=0) == 42
    call = spans.one("call ")
    attempts = [chat["attributes"].get("alloy_nb.attempt", 1) for chat in spans.named("chat ")]
    assert attempts == [1, 1, 2]  # the first attempt's request and its finalize turn, then the second attempt
    assert call["attributes"]["alloy_nb.attempts"] == 2
    assert [chat["attributes"].get("alloy_nb.finalize", False) for chat in spans.named("chat ")] == [False, True, False]
    assert [(name, retry["alloy_nb.retry.scope"]) for name, retry in call["events"]] == [("alloy_nb.retry", "call")]
    assert call["attributes"]["alloy_nb.output.type"] == "int"
    assert {chat["attributes"]["gen_ai.output.type"] for chat in spans.named("chat ")} == {"json"}


def test_a_failed_call_fails_its_span_and_the_request_it_failed_on(server, spans, api: str) -> None:
    server.script(Reply(status=400, error="bad request"))
    with pytest.raises(ServerError):
        ask("Hi", api=api, model=MODEL)
    call, chat = spans.one("call "), spans.one("chat ")
    assert call["status"] == "ERROR" and call["attributes"]["error.type"] == "ServerError"
    assert chat["status"] == "ERROR" and chat["attributes"]["error.type"] == "ServerError"
    assert "gen_ai.response.model" not in chat["attributes"]


def test_a_failing_tool_is_a_failed_tool_span_and_the_call_goes_on(server, spans) -> None:
    server.script(Reply(tool_calls=[ScriptedToolCall("add", {"a": "two"})]), Reply(text="Sorry."))
    assert ask("Add.", tools=[add], model=MODEL) == "Sorry."
    tool = spans.one("execute_tool ")
    assert tool["status"] == "ERROR" and tool["attributes"]["error.type"] == "ToolError"
    assert spans.one("call ")["status"] == "UNSET"


def test_async_calls_async_streams_commands_and_replays_have_spans_too(server, spans) -> None:
    @command(model=MODEL)
    def greet(name: str) -> str:
        return f"Greet {name}."

    async def streamed() -> str:
        return "".join([piece async for piece in ask.stream_async("Streamed", model=MODEL)])

    asyncio.run(ask.async_("Hi", model=MODEL))
    assert asyncio.run(streamed()) == "You said: Streamed"
    assert greet("Ada") == "You said: Greet Ada."
    _, first = ask.traced("Again", model=MODEL)
    assert replay(first).value == "You said: Again"
    calls = spans.named("call ")
    assert len(calls) == 5 and len({call["trace_id"] for call in calls}) == 5
    assert len(spans.named("chat ")) == 5
    assert [call["attributes"].get("alloy_nb.stream", False) for call in calls] == [False, True, False, False, False]


def test_a_call_inside_a_span_of_the_notebook_is_its_child(server, spans) -> None:
    tracer = spans.provider.get_tracer("notebook")
    with tracer.start_as_current_span("cell") as cell:
        ask("Hi", model=MODEL)
    call = spans.one("call ")
    assert call["parent_id"] == f"{cell.get_span_context().span_id:016x}"


def test_a_map_is_one_span_over_its_items(server, spans) -> None:
    result = ask.map(["a", "b", "c"], model=MODEL, progress=False)
    assert result.values == ["You said: a", "You said: b", "You said: c"]
    batch = spans.one("map ")
    assert batch["name"] == "map llama3.1:8b"
    assert batch["attributes"]["alloy_nb.map.items"] == 3 and batch["attributes"]["alloy_nb.map.engine"] == "local"
    calls = spans.named("call ")
    assert len(calls) == 3 and {call["parent_id"] for call in calls} == {batch["span_id"]}
    assert {call["trace_id"] for call in calls} == {batch["trace_id"]}
    assert {chat["parent_id"] for chat in spans.named("chat ")} == {call["span_id"] for call in calls}


def test_an_async_map_is_one_span_over_its_items_too(server, spans) -> None:
    asyncio.run(ask.map_async(["a", "b"], model=MODEL, progress=False))
    batch = spans.one("map ")
    assert {call["parent_id"] for call in spans.named("call ")} == {batch["span_id"]}


def test_the_global_provider_is_used_when_none_is_given(server, spans, monkeypatch) -> None:
    from opentelemetry import trace as otel_trace

    from alloy_nb import otel

    monkeypatch.setattr(otel_trace, "get_tracer_provider", lambda: spans.provider)
    otel.instrument()
    ask("Hi", model=MODEL)
    assert spans.one("call ")["name"] == "call llama3.1:8b"


def test_after_uninstrument_calls_make_no_spans(server, spans) -> None:
    from alloy_nb import otel

    ask("first", model=MODEL)
    otel.uninstrument()
    ask("second", model=MODEL)
    assert len(spans.exporter.get_finished_spans()) == 2  # the first call's, written before uninstrument returned
    assert isinstance(spans.provider, TracerProvider)


def test_alloy_cells_streamed_or_not_have_spans(server, spans, shell) -> None:
    shell.run_cell_magic("alloy", "--no-stream", "Say hi")
    shell.run_cell_magic("alloy", "", "Say hi again")
    calls = spans.named("call ")
    assert len(calls) == 2
    assert [call["attributes"].get("alloy_nb.stream", False) for call in calls] == [False, True]
    assert {chat["parent_id"] for chat in spans.named("chat ")} == {call["span_id"] for call in calls}


def test_the_ollama_options_with_a_name_in_the_conventions_are_request_attributes(server, spans) -> None:
    options = {
        "seed": 7,
        "top_p": 0.9,
        "top_k": 40,
        "stop": ["\n\n", "END"],
        "frequency_penalty": 0.5,
        "presence_penalty": 0.25,
        "num_ctx": 4096,  # an Ollama option the conventions have no name for
    }
    server.script(Reply(text="ok"))
    assert ask("Hi", api="native", model=MODEL, extra={"ollama_options": options}) == "ok"
    assert server.requests[0].body["options"] == options  # the call really sent them
    chat = spans.one("chat ")["attributes"]
    assert {key: value for key, value in chat.items() if key.startswith("gen_ai.request.")} == {
        "gen_ai.request.model": "llama3.1:8b",
        "gen_ai.request.seed": 7,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.top_k": 40,
        "gen_ai.request.stop_sequences": ("\n\n", "END"),
        "gen_ai.request.frequency_penalty": 0.5,
        "gen_ai.request.presence_penalty": 0.25,
    }
    assert not [value for value in chat.values() if value == 4096]  # num_ctx: no attribute of its own
    assert not [key for key in spans.one("call ")["attributes"] if key.startswith("gen_ai.")]


def test_a_named_setting_wins_over_the_same_ollama_option_in_the_chat_span_too(server, spans) -> None:
    server.script(Reply(text="ok"))
    ask("Hi", api="native", model=MODEL, temperature=0.1, extra={"ollama_options": {"temperature": 0.9, "seed": 3}})
    assert server.requests[0].body["options"] == {"temperature": 0.1, "seed": 3}
    chat = spans.one("chat ")["attributes"]
    assert (chat["gen_ai.request.temperature"], chat["gen_ai.request.seed"]) == (0.1, 3)


def test_temperature_and_num_predict_set_only_as_ollama_options_are_in_the_chat_span(server, spans) -> None:
    server.script(Reply(text="ok"))
    ask("Hi", api="native", model=MODEL, extra={"ollama_options": {"temperature": 0.9, "num_predict": 20}})
    assert server.requests[0].body["options"] == {"temperature": 0.9, "num_predict": 20}
    chat = spans.one("chat ")["attributes"]
    assert (chat["gen_ai.request.temperature"], chat["gen_ai.request.max_tokens"]) == (0.9, 20)
