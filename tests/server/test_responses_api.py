"""``POST /v1/responses`` through the real openai SDK (``client.responses``), on the scripted engine and the
embedded model: replies, streams, tools, typed output, reasoning, limits and errors, each event and
response object also checked against the SDK's own types, strictly."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter
from sample_types import City
from test_engine_failures import FailingEngine

from alloy_nb.server.engines import ToolSpec
from alloy_nb.testing import ScriptedServer, ScriptedToolCall, ScriptedTurn, ServerThread

MODEL = "smollm2:135m"
THINKER = "qwen3:0.6b"  # a model the demo engine thinks with
WEATHER_PARAMETERS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather now", "parameters": WEATHER_PARAMETERS}
STREAM_EVENT = TypeAdapter(ResponseStreamEvent)


@pytest.fixture
def client(server: ScriptedServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=30) as client:
        yield client


def post(url: str, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(url + "/v1/responses", json=body, headers=headers, timeout=30)


def raw_events(url: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The SSE events of a streamed response, checked as they come: each names its ``type`` in its
    ``event:`` line, numbers follow on from 0, and each is a valid event of the SDK's types."""
    reply = post(url, body | {"stream": True})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in reply.text.split("\n\n"):
        if not block.strip():
            continue
        name, data = block.split("\n")
        event = json.loads(data.removeprefix("data: "))
        assert name == f"event: {event['type']}" and event["sequence_number"] == len(events)
        STREAM_EVENT.validate_python(event)
        events.append(event)
    return events


def of_type(events: list[Any], kind: str) -> list[Any]:
    return [event for event in events if event.type == kind]


def test_a_reply_is_one_completed_message(server: ScriptedServer, client: openai.OpenAI) -> None:
    reply = client.responses.create(model=MODEL, input="Hello there")
    assert reply.output_text == "You said: Hello there" and reply.status == "completed"
    assert reply.id.startswith("resp_") and reply.object == "response" and reply.incomplete_details is None
    [message] = reply.output
    assert message.type == "message" and message.status == "completed" and message.id.startswith("msg_")
    usage = reply.usage
    assert usage and usage.output_tokens > 0 and usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert server.requests[-1].messages == [{"role": "user", "content": "Hello there"}]
    assert server.requests[-1].options == {"temperature": 1.0}  # OpenAI's default, as Ollama applies it
    raw = post(server.url, {"model": MODEL, "input": "Hi"}).json()
    Response.model_validate(raw)  # strictly, not as the SDK reads it (loosely)
    assert raw["store"] is False and raw["tool_choice"] == "auto" and raw["previous_response_id"] is None


def test_a_stream_sends_its_text_in_deltas_then_the_whole_response(
    server: ScriptedServer, client: openai.OpenAI
) -> None:
    events = list(client.responses.create(model=MODEL, input="one two three", stream=True))
    kinds = [event.type for event in events]
    deltas = of_type(events, "response.output_text.delta")
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * len(deltas),
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events))) and len(deltas) > 1
    text = "".join(delta.delta for delta in deltas)
    assert text == "You said: one two three" == of_type(events, "response.output_text.done")[0].text
    assert events[0].response.status == "in_progress" and events[0].response.output == []
    final = events[-1].response
    assert final.output_text == text and final.status == "completed" and final.id == events[0].response.id
    assert final.usage and final.usage.total_tokens == final.usage.input_tokens + final.usage.output_tokens > 0
    assert {delta.item_id for delta in deltas} == {final.output[0].id}
    assert len(raw_events(server.url, {"model": MODEL, "input": "one two three"})) == len(events)


def test_instructions_and_developer_messages_are_system_messages(server: ScriptedServer, client: openai.OpenAI) -> None:
    given = [
        {"role": "developer", "content": "Answer in French."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Salut"}]},
        {"role": "user", "content": "Again"},
    ]
    reply = client.responses.create(model=MODEL, input=given, instructions="Be brief.")
    assert reply.instructions == "Be brief." and reply.output_text == "You said: Again"
    assert server.requests[-1].messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Salut"},
        {"role": "user", "content": "Again"},
    ]


def test_a_tool_call_round_trip(server: ScriptedServer, client: openai.OpenAI) -> None:
    server.script(ScriptedTurn(tool_calls=[ScriptedToolCall("get_weather", {"city": "Paris"}, id="call_1")]))
    asked: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.responses.create(model=MODEL, input=asked, tools=[WEATHER])
    [call] = first.output
    assert call.type == "function_call" and call.status == "completed" and call.id and call.id.startswith("fc_")
    assert (call.call_id, call.name, json.loads(call.arguments)) == ("call_1", "get_weather", {"city": "Paris"})
    assert server.requests[-1].tools == [ToolSpec("get_weather", "Weather now", WEATHER_PARAMETERS)]
    assert first.tools[0].type == "function" and first.tools[0].name == "get_weather"
    result = {"type": "function_call_output", "call_id": "call_1", "output": "18 C and sunny"}
    second = client.responses.create(model=MODEL, input=[*asked, *first.output, result], tools=[WEATHER])
    assert second.output_text == "You said: Weather in Paris?"  # the demo answers once a tool has
    assert server.requests[-1].messages == [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C and sunny", "tool_name": "get_weather"},
    ]


def test_text_before_tool_calls_is_kept_whole_or_streamed_alike(server: ScriptedServer, client: openai.OpenAI) -> None:
    call = ScriptedToolCall("get_weather", {"city": "Paris"}, id="call_1")
    server.script(
        ScriptedTurn(text="Let me look.", tool_calls=[call]), ScriptedTurn(text="Let me look.", tool_calls=[call])
    )
    whole = client.responses.create(model=MODEL, input="Weather?", tools=[WEATHER])
    events = list(client.responses.create(model=MODEL, input="Weather?", tools=[WEATHER], stream=True))
    streamed = events[-1].response
    for response in (whole, streamed):
        assert [item.type for item in response.output] == ["message", "function_call"]
        assert response.output_text == "Let me look." and response.output[1].call_id == "call_1"


def test_calls_in_a_row_join_one_assistant_message_and_an_output_list_is_text(server: ScriptedServer) -> None:
    calls = [
        {"type": "function_call", "call_id": f"c{n}", "name": "get_weather", "arguments": f'{{"city": "{city}"}}'}
        for n, city in enumerate(["Paris", "Oslo"])
    ]
    output = {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "cold"}]}
    reply = post(server.url, {"model": MODEL, "input": [{"role": "user", "content": "?"}, *calls, output]})
    assert reply.status_code == 200
    assistant, tool = server.requests[-1].messages[1:]
    assert [call["arguments"] for call in assistant["tool_calls"]] == [{"city": "Paris"}, {"city": "Oslo"}]
    assert tool == {"role": "tool", "tool_call_id": "c1", "content": "cold", "tool_name": "get_weather"}


def test_a_streamed_tool_call_sends_its_arguments_in_pieces(server: ScriptedServer, client: openai.OpenAI) -> None:
    pieces = ['{"city"', ': "Par', 'is"}']
    server.script(ScriptedTurn(tool_calls=[ScriptedToolCall("get_weather", pieces=pieces, id="call_9")]))
    events = list(client.responses.create(model=MODEL, input="Weather?", tools=[WEATHER], stream=True))
    assert [event.type for event in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * 3,
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    added = events[2].item
    assert (added.type, added.status, added.arguments, added.call_id) == ("function_call", "in_progress", "", "call_9")
    deltas = of_type(events, "response.function_call_arguments.delta")
    joined = "".join(delta.delta for delta in deltas)
    assert [delta.delta for delta in deltas] == pieces and json.loads(joined) == {"city": "Paris"}
    assert of_type(events, "response.function_call_arguments.done")[0].arguments == joined
    [call] = events[-1].response.output
    assert call.type == "function_call" and call.arguments == joined and call.id == added.id
    server.script(ScriptedTurn(tool_calls=[ScriptedToolCall("get_weather", {"city": "Oslo"})]))
    whole = raw_events(server.url, {"model": MODEL, "input": "Weather?", "tools": [WEATHER]})
    assert [e["delta"] for e in whole if e["type"] == "response.function_call_arguments.delta"] == ['{"city":"Oslo"}']
    server.script(ScriptedTurn(tool_calls=[ScriptedToolCall("get_weather", pieces=pieces)]))
    with client.responses.stream(model=MODEL, input="Weather?", tools=[WEATHER]) as stream:
        [call] = stream.get_final_response().output
    assert call.type == "function_call" and json.loads(call.arguments) == {"city": "Paris"}


def test_a_json_schema_format_constrains_the_reply(server: ScriptedServer, client: openai.OpenAI) -> None:
    parsed = client.responses.parse(model=MODEL, input="A city, please", text_format=City)
    assert isinstance(parsed.output_parsed, City)
    schema = server.requests[-1].format
    assert isinstance(schema, dict) and set(schema["properties"]) == {"name", "country"}
    assert parsed.text and parsed.text.format.type == "json_schema" and parsed.text.format.name == "City"
    json_object = {"model": MODEL, "input": "JSON!", "text": {"format": {"type": "json_object"}}}
    assert post(server.url, json_object).status_code == 200 and server.requests[-1].format == "json"
    plain = {"model": MODEL, "input": "Hi", "text": {"format": {"type": "text"}}}
    assert post(server.url, plain).status_code == 200 and server.requests[-1].format is None


@pytest.mark.parametrize(
    ("effort", "think"), [("none", False), ("low", "low"), ("high", "high"), ("minimal", "low"), ("xhigh", "max")]
)
def test_reasoning_effort_sets_thinking(server: ScriptedServer, client: openai.OpenAI, effort: str, think: Any) -> None:
    reply = client.responses.create(model=THINKER, input="Hi", reasoning={"effort": effort})
    assert server.requests[-1].think == think and reply.reasoning and reply.reasoning.effort == effort
    reasoning = [item for item in reply.output if item.type == "reasoning"]
    if think is False:
        assert reasoning == []
    else:
        assert reasoning[0].summary[0].text.endswith(f"Effort: {think}. I will repeat it back.")


def test_an_unknown_reasoning_effort_is_a_400(server: ScriptedServer, client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model=THINKER, input="Hi", reasoning={"effort": "extreme"})
    assert raised.value.status_code == 400 and "invalid reasoning value: 'extreme'" in raised.value.message
    assert server.requests == []


def test_thinking_is_a_reasoning_item_before_the_message(server: ScriptedServer, client: openai.OpenAI) -> None:
    reply = client.responses.create(model=THINKER, input="Hi")
    reasoning, message = reply.output
    assert reasoning.type == "reasoning" and reasoning.id.startswith("rs_") and message.type == "message"
    assert reasoning.summary[0].text == reasoning.encrypted_content == "The user wrote 1 word. I will repeat it back."
    events = raw_events(server.url, {"model": THINKER, "input": "Hi"})
    kinds = [event["type"] for event in events]
    assert kinds[2:4] == ["response.output_item.added", "response.reasoning_summary_text.delta"]
    thought = "".join(e["delta"] for e in events if e["type"] == "response.reasoning_summary_text.delta")
    [done] = [e for e in events if e["type"] == "response.reasoning_summary_text.done"]
    assert thought == done["text"] == reasoning.summary[0].text and done["output_index"] == 0
    assert {e["output_index"] for e in events if e["type"] == "response.output_text.delta"} == {1}
    final = events[-1]["response"]
    assert [item["type"] for item in final["output"]] == ["reasoning", "message"]
    assert kinds.index("response.reasoning_summary_text.done") < kinds.index("response.content_part.added")


def test_reasoning_passed_back_is_the_next_assistant_messages_thinking(server: ScriptedServer) -> None:
    given = [
        {"role": "user", "content": "Hi"},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "They greet me."},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Bye"},
    ]
    assert post(server.url, {"model": THINKER, "input": given}).status_code == 200
    assert server.requests[-1].messages[1] == {"role": "assistant", "content": "Hello!", "thinking": "They greet me."}


def test_a_reply_cut_by_the_token_limit_is_incomplete(server: ScriptedServer, client: openai.OpenAI) -> None:
    server.script(ScriptedTurn(text="one two three", done_reason="length"))
    reply = client.responses.create(model=MODEL, input="Count", max_output_tokens=3)
    assert server.requests[-1].options["num_predict"] == 3 and reply.max_output_tokens == 3
    assert reply.status == "incomplete" and reply.incomplete_details
    assert reply.incomplete_details.reason == "max_output_tokens" and reply.output[0].status == "incomplete"
    server.script(ScriptedTurn(text="one two three", done_reason="length"))
    events = list(client.responses.create(model=MODEL, input="Count", max_output_tokens=3, stream=True))
    assert events[-1].type == "response.incomplete" and events[-1].response.output_text == "one two three"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"
    server.script(ScriptedTurn(text="one two", done_reason="length"))
    [*_, done, last] = raw_events(server.url, {"model": MODEL, "input": "Count", "max_output_tokens": 2})
    assert done["item"]["status"] == last["response"]["output"][0]["status"] == "incomplete"


def test_a_failure_mid_stream_ends_it_with_response_failed(server_log: list[str]) -> None:
    engine = FailingEngine()
    engine.fail_after = 2
    with ServerThread(engine) as thread:
        events = raw_events(thread.url, {"model": "llama3.1:8b", "input": "Hi"})
    assert [event["type"] for event in events][-3:] == ["response.output_text.delta"] * 2 + ["response.failed"]
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"]["message"] == "engine error: RuntimeError: boom"
    assert failed["output"] == [] and failed["usage"] is None
    assert server_log == ["POST /v1/responses failed mid-stream: engine error: RuntimeError: boom"]


def test_images_are_read_from_data_urls(server: ScriptedServer) -> None:
    image = base64.b64encode(b"not really a png").decode()
    part = {"type": "input_image", "detail": "auto", "image_url": f"data:image/png;base64,{image}"}
    given = [{"role": "user", "content": [{"type": "input_text", "text": "What is it?"}, part]}]
    assert post(server.url, {"model": "gemma3:4b", "input": given}).status_code == 200
    assert server.requests[-1].messages == [{"role": "user", "content": "What is it?", "images": [image]}]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": MODEL, "input": [{"role": "user", "content": [{"type": "input_file", "file_data": "x"}]}]}, "file"),
        ({"model": MODEL, "input": [{"type": "web_search_call", "id": "ws"}]}, "input[0]: unknown item type"),
        ({"model": MODEL, "input": [{"content": "no role, no type"}]}, "input[0]: unknown item type (none given)"),
        ({"model": MODEL, "input": [{"type": "function_call", "name": "f"}]}, "call_id: Field required"),
        ({"model": MODEL, "input": "Hi", "tools": [{"type": "function", "function": {"name": "f"}}]}, "tools.0.name"),
        ({"model": MODEL, "input": "Hi", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"input": "Hi"}, "model: Field required"),
        (["not", "an", "object"], "expected a JSON object"),
    ],
)
def test_malformed_bodies_are_openai_shaped_400s(server: ScriptedServer, body: Any, message: str) -> None:
    reply = post(server.url, body)
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] is None and message in error["message"]
    assert server.requests == []


def test_input_files_are_refused_in_ollamas_words(server: ScriptedServer, client: openai.OpenAI) -> None:
    given = [{"role": "user", "content": [{"type": "input_file", "file_data": "data:text/plain;base64,aGk="}]}]
    with pytest.raises(openai.BadRequestError, match="file inputs are not currently supported"):
        client.responses.create(model=MODEL, input=given)


def test_invalid_json_and_unknown_models_answer_in_openais_shape(server: ScriptedServer) -> None:
    broken = httpx.post(server.url + "/v1/responses", content=b"{oops", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"]["message"].startswith("invalid JSON body")
    missing = post(server.url, {"model": "nope:1b", "input": "Hi"})
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"


def test_a_foreign_host_gets_403(server: ScriptedServer) -> None:
    reply = post(server.url, {"model": MODEL, "input": "Hi"}, host="evil.example")
    assert reply.status_code == 403 and reply.json()["error"]["message"].startswith("Host header 'evil.example'")
    assert server.requests == []


# --- the embedded model ---------------------------------------------------------------------


@pytest.fixture
def embedded(embedded_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=embedded_url + "/v1", api_key="x", max_retries=0, timeout=120) as client:
        yield client


def test_the_embedded_model_answers_a_response(embedded: openai.OpenAI) -> None:
    reply = embedded.responses.create(
        model=MODEL, input="What is the capital of France?", temperature=0, max_output_tokens=12
    )
    assert reply.output_text.strip() and reply.usage and 0 < reply.usage.output_tokens <= 12
    assert reply.status == ("incomplete" if reply.usage.output_tokens == 12 else "completed")


def test_the_embedded_model_streams_a_response(embedded: openai.OpenAI) -> None:
    asked = {"model": MODEL, "input": "Name a colour.", "temperature": 0, "max_output_tokens": 12}
    events = list(embedded.responses.create(**asked, stream=True))
    text = "".join(event.delta for event in of_type(events, "response.output_text.delta"))
    final = events[-1].response
    assert text.strip() and final.output_text == text and final.usage.output_tokens <= 12
    assert events[-1].type == ("response.incomplete" if final.usage.output_tokens == 12 else "response.completed")
    assert embedded.responses.create(**asked).output_text == text  # greedy: the same words unstreamed
