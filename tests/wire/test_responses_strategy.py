"""What only `openai_responses` does on the wire: the system prompt in `instructions` and the conversation as
typed input items, a tool round trip as `function_call` and `function_call_output` items matched by
`call_id`, thinking passed back as a `reasoning` item, `reasoning.effort`, `max_output_tokens`, images as
`input_image` parts, typed output in `text.format`; a reply cut by the token limit (`incomplete`), a stream
that fails part way, and the native-only settings it refuses."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import pytest
from odd_hosts import OddHost
from PIL import Image as PILImage
from sample_tools import add
from starlette.responses import StreamingResponse
from wire_shapes import message

from alloy_nb import ConfigurationError, ServerError, ask
from alloy_nb._outputs import output_spec
from alloy_nb.server import ChatRequest, EngineEvent
from alloy_nb.server.engine_events import Finish
from alloy_nb.server.engines import EngineError
from alloy_nb.server.turns import TurnScript
from alloy_nb.testing import ScriptedEngine, ScriptedToolCall as Call, ScriptedTurn as Reply, ServerThread

API = "openai_responses"
ADD = Call("add", {"a": 2, "b": 3}, id="call_add")


def test_a_first_body_is_instructions_input_items_and_the_stream_flag(server) -> None:
    server.script(Reply(text="Hi."), Reply(chunks=["Hi", "."]))
    history = [{"role": "user", "content": "I am Ada."}, {"role": "assistant", "content": "Noted."}]
    ask("Who am I?", api=API, system="Be brief.", history=history)
    assert "".join(ask.stream("Who am I?", api=API)) == "Hi."
    whole, streamed = server.requests
    assert whole.path == streamed.path == "/v1/responses"
    assert whole.body == {
        "model": "smollm2:135m",
        "instructions": "Be brief.",
        "input": [*(message(API, **entry) for entry in history), message(API, "user", "Who am I?")],
        "stream": False,
    }
    assert streamed.body == {"model": "smollm2:135m", "input": [message(API, "user", "Who am I?")], "stream": True}
    assert whole.messages == [
        {"role": "system", "content": "Be brief."},
        *history,
        {"role": "user", "content": "Who am I?"},
    ]


def test_a_tool_round_trip_sends_the_call_then_its_output_with_the_same_call_id(server) -> None:
    server.script(Reply(chunks=["Let ", "me ", "add."], tool_calls=[ADD]), Reply(text="It is 5."))
    stream = ask.stream("What is 2 + 3?", tools=[add], api=API)
    assert "".join(stream) == "Let me add.It is 5."
    first, second = (request.body for request in server.requests)
    spec = add.spec()["function"]
    tools = [{"type": "function", "name": "add", "description": spec["description"], "parameters": spec["parameters"]}]
    assert first["tools"] == second["tools"] == [tools[0] | {"strict": False}]
    said, called, result = second["input"][1:]
    assert said == {"type": "message", "role": "assistant", "content": "Let me add."}  # the text before the call
    assert (called["type"], called["call_id"], called["name"]) == ("function_call", "call_add", "add")
    assert json.loads(called["arguments"]) == {"a": 2, "b": 3}
    assert result == {"type": "function_call_output", "call_id": "call_add", "output": "5"}
    assert server.requests[1].messages[1:] == [  # as Ollama reads them: one assistant turn, then the tool's
        {
            "role": "assistant",
            "content": "Let me add.",
            "tool_calls": [{"id": "call_add", "name": "add", "arguments": {"a": 2, "b": 3}}],
        },
        {"role": "tool", "tool_call_id": "call_add", "content": "5", "tool_name": "add"},
    ]


def test_a_whole_reply_gives_the_text_before_its_calls_as_a_message_item(server) -> None:
    server.script(Reply(text="Let me add.", tool_calls=[ADD]), Reply(text="It is 5."))
    value, trace = ask.traced("What is 2 + 3?", tools=[add], api=API)
    assert value == "It is 5."
    assert [item["type"] for item in trace.responses[0].raw["output"]] == ["message", "function_call"]
    turn = trace.responses[0]
    assert turn.text == "Let me add." and [call.id for call in turn.tool_calls] == ["call_add"]
    said, called, _ = server.requests[1].body["input"][1:]
    assert said == {"type": "message", "role": "assistant", "content": "Let me add."}
    assert (called["type"], called["call_id"]) == ("function_call", "call_add")


def test_thinking_goes_back_as_a_reasoning_item_before_the_call(server) -> None:
    server.script(Reply(thinking="Add them.", tool_calls=[ADD]), Reply(text="It is 5."))
    _, trace = ask.traced("What is 2 + 3?", tools=[add], api=API, model="ollama:qwen3:0.6b", think=True)
    assert trace.responses[0].thinking == "Add them."
    second = server.requests[1].body
    reasoning = {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Add them."}]}
    assert second["input"][1] == reasoning | {"encrypted_content": "Add them."}  # Ollama reads the thinking there
    assert [item["type"] for item in second["input"][2:]] == ["function_call", "function_call_output"]
    assert server.requests[1].messages[1]["thinking"] == "Add them."


@pytest.mark.parametrize(
    ("model", "think", "effort", "read"),
    [
        ("qwen3:0.6b", True, "medium", "medium"),
        ("qwen3:0.6b", False, "none", False),
        ("gpt-oss:20b", "high", "high", "high"),
    ],
)
def test_think_is_sent_as_a_reasoning_effort(server, model: str, think: bool | str, effort: str, read: object) -> None:
    ask("Hi", api=API, model=f"ollama:{model}", think=think)
    ask("Hi", api=API, model=f"ollama:{model}")
    asked, unset = server.requests
    assert asked.body["reasoning"] == {"effort": effort} and asked.think == read
    assert "reasoning" not in unset.body and unset.think is None


def test_max_tokens_is_sent_as_max_output_tokens(server) -> None:
    ask("Hi", api=API, max_tokens=16, temperature=0.5)
    [received] = server.requests
    assert (received.body["max_output_tokens"], received.body["temperature"]) == (16, 0.5)
    assert "max_tokens" not in received.body and received.options == {"num_predict": 16, "temperature": 0.5}


def test_images_are_input_image_parts_with_data_urls(server) -> None:
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    encoded = base64.b64encode(buffer.getvalue()).decode()
    ask("What colour?", images=[buffer.getvalue()], model="ollama:gemma3:4b", api=API)
    [received] = server.requests
    image = {"type": "input_image", "image_url": f"data:image/png;base64,{encoded}", "detail": "auto"}
    content = [{"type": "input_text", "text": "What colour?"}, image]
    assert received.body["input"] == [{"type": "message", "role": "user", "content": content}]
    assert received.messages == [{"role": "user", "content": "What colour?", "images": [encoded]}]


def test_typed_output_is_constrained_in_text_format_only_without_tools(server) -> None:
    schema = output_spec(int).schema
    server.script(Reply(text='{"value": 5}'))
    assert ask("Sum?", output=int, api=API) == 5
    [alone] = server.requests
    assert alone.body["text"] == {"format": {"type": "json_schema", "name": "output", "schema": schema, "strict": True}}
    assert alone.format == schema  # what the server constrains the reply to
    server.engine.reset()
    server.script(Reply(tool_calls=[ADD]), Reply(text='{"value": 5}'))
    assert ask("Sum?", output=int, tools=[add], api=API) == 5
    assert [("text" in r.body, bool(r.body["tools"])) for r in server.requests] == [(False, True), (False, True)]


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_a_reply_cut_by_the_token_limit_is_incomplete_and_done_for_length(server, streamed: bool) -> None:
    server.script(Reply(text="Tides follow the", done_reason="length"))
    if streamed:
        stream = ask.stream("Why tides?", api=API, max_tokens=4)
        text, trace = "".join(stream), stream.trace
    else:
        text, trace = ask.traced("Why tides?", api=API, max_tokens=4)
    assert text == "Tides follow the" and trace.responses[0].done_reason == "length"
    if not streamed:
        raw = trace.responses[0].raw
        assert (raw["status"], raw["incomplete_details"]) == ("incomplete", {"reason": "max_output_tokens"})


def test_ollamas_completed_reply_that_used_every_allowed_token_is_done_for_length(server) -> None:
    """Ollama's /v1/responses says "completed" even when `max_output_tokens` cut the reply; the
    response repeats the limit, and a reply that used all of it was cut."""
    usage = {"input_tokens": 9, "output_tokens": 4, "total_tokens": 13}
    message = {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant"}
    message["content"] = [{"type": "output_text", "text": "Tides follow the", "annotations": []}]
    body = {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "smollm2:135m"}
    body |= {"output": [message], "usage": usage, "max_output_tokens": 4}
    server.script(Reply(raw_body=json.dumps(body)), Reply(raw_body=json.dumps(body | {"max_output_tokens": 8})))
    _, cut = ask.traced("Why tides?", api=API, max_tokens=4)
    _, whole = ask.traced("Why tides?", api=API, max_tokens=8)
    assert (cut.responses[0].done_reason, whole.responses[0].done_reason) == ("length", "stop")


class _FailsBeforeTheEnd(ScriptedEngine):
    """Streams a turn's pieces, then fails where the reply would finish (Ollama sends `response.failed`)."""

    async def play(self, turn: TurnScript, request: ChatRequest) -> AsyncGenerator[EngineEvent, None]:
        async for event in super().play(turn, request):
            if isinstance(event, Finish):
                raise EngineError(500, "the runner ran out of memory")
            yield event


@pytest.fixture
def failing() -> Iterator[tuple[ScriptedEngine, str]]:
    engine = _FailsBeforeTheEnd()
    with ServerThread(engine) as thread:
        yield engine, thread.url


FAILED = r"The server at http://127\.0\.0\.1:\d+ failed in the middle of the reply: {}\. Retry; the call's trace keeps"


async def _read(stream: Any, streamed: str) -> str:
    return "".join(stream) if streamed == "sync" else "".join([piece async for piece in stream])


@pytest.mark.parametrize("streamed", ["sync", "async"])
async def test_a_stream_that_fails_is_a_server_error_keeping_what_arrived(
    failing: tuple[ScriptedEngine, str], streamed: str
) -> None:
    engine, url = failing
    engine.script(Reply(chunks=["Tides ", "follow "]))
    read = ask.stream if streamed == "sync" else ask.stream_async
    stream = read("Why tides?", api=API, host=url, transient_retries=0)
    with pytest.raises(ServerError, match=FAILED.format("the runner ran out of memory")) as caught:
        await _read(stream, streamed)
    trace = caught.value.trace
    assert trace is stream.trace and trace.status == "error" and trace.responses[0].text == "Tides follow "


def _error_event_stream() -> StreamingResponse:
    """A Responses stream that sends some text, then OpenAI's `error` event."""
    started = {"type": "response.created", "sequence_number": 0, "response": _in_progress()}
    delta = {"type": "response.output_text.delta", "sequence_number": 1, "item_id": "msg_1", "output_index": 0}
    delta |= {"content_index": 0, "delta": "Tides ", "logprobs": []}
    error = {"type": "error", "sequence_number": 2, "code": "server_error", "message": "model unloaded", "param": None}
    events = [started, delta, error]
    body = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)
    return StreamingResponse(iter([body]), media_type="text/event-stream")


def _in_progress() -> dict[str, object]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 0,
        "status": "in_progress",
        "model": "smollm2:135m",
        "output": [],
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }


@pytest.mark.parametrize("streamed", ["sync", "async"])
async def test_an_error_event_mid_stream_is_a_server_error_keeping_what_arrived(streamed: str) -> None:
    with OddHost(_error_event_stream).running() as host:
        read = ask.stream if streamed == "sync" else ask.stream_async
        stream = read("Why tides?", api=API, host=host.url, transient_retries=0)
        with pytest.raises(ServerError, match=FAILED.format("model unloaded")) as caught:
            await _read(stream, streamed)
    assert caught.value.trace.responses[0].text == "Tides "


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ({"context_length": 4096}, r"context_length only exists on Ollama's native API"),
        ({"keep_alive": "5m"}, r"keep_alive only exists on Ollama's native API"),
        (
            {"extra": {"ollama_options": {"num_ctx": 4096}}},
            r"extra\['ollama_options'\] \(num_ctx\) only exist on Ollama's native API",
        ),
    ],
    ids=["context_length", "keep_alive", "ollama_options"],
)
def test_native_only_settings_are_refused_naming_the_strategy(server, setting: dict, named: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"{named}, and this call uses openai_responses .*api='native'"):
        ask("Hi", api=API, **setting)
    assert server.requests == []
