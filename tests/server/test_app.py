"""The scripted server through the real ollama and openai SDKs (and httpx) over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import httpx
import ollama
import openai
import pytest
from pydantic import BaseModel

from alloy_nb.server import ToolSpec
from alloy_nb.testing import ScriptedToolCall, ScriptedTurn

MODEL = "llama3.1:8b"
HI = [{"role": "user", "content": "Hi"}]


class AddArgs(BaseModel):
    a: int
    b: int


ADD_TOOL = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers.",
        "parameters": AddArgs.model_json_schema(),
    },
}


class Invoice(BaseModel):
    number: str
    total: float
    paid: bool
    lines: list[str]


@pytest.fixture
def native(server) -> ollama.Client:
    return ollama.Client(host=server.url)


@pytest.fixture
def oai(server) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="ollama", max_retries=0)
    yield client
    client.close()


# --- text ---------------------------------------------------------------------------------


def test_ollama_text_reply_with_counts(server, native: ollama.Client) -> None:
    server.script(ScriptedTurn("Hello there, friend."))
    reply = native.chat(model=MODEL, messages=HI)
    assert reply.message.role == "assistant" and reply.message.content == "Hello there, friend."
    assert reply.done and reply.done_reason == "stop" and reply.model == MODEL
    assert (reply.prompt_eval_count, reply.eval_count) == (1, 5)
    assert reply.total_duration >= reply.eval_duration > 0


def test_ollama_stream_yields_the_scripted_chunks_then_done(server, native: ollama.Client) -> None:
    server.script(ScriptedTurn(chunks=["Once ", "upon ", "a ", "time."], completion_tokens=9))
    parts = list(native.chat(model=MODEL, messages=HI, stream=True))
    assert [p.message.content for p in parts[:-1]] == ["Once ", "upon ", "a ", "time."]
    assert not any(p.done for p in parts[:-1])
    assert parts[-1].done and parts[-1].eval_count == 9 and parts[-1].total_duration > 0


def test_openai_text_reply_with_usage(server, oai: openai.OpenAI) -> None:
    server.script(ScriptedTurn("Hello there, friend.", done_reason="length"))
    completion = oai.chat.completions.create(model=MODEL, messages=HI)
    assert completion.id.startswith("chatcmpl-") and completion.object == "chat.completion"
    [choice] = completion.choices
    assert choice.message.content == "Hello there, friend." and choice.finish_reason == "length"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (1, 5)
    assert completion.usage.total_tokens == 6


def test_openai_stream_role_first_then_content_finish_and_usage(server, oai: openai.OpenAI) -> None:
    server.script(ScriptedTurn("One two three.", completion_tokens=7))
    chunks = list(
        oai.chat.completions.create(model=MODEL, messages=HI, stream=True, stream_options={"include_usage": True})
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "One two three."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 7
    assert len({c.id for c in chunks}) == 1


def test_openai_stream_without_include_usage_sends_no_usage(server, oai: openai.OpenAI) -> None:
    chunks = list(oai.chat.completions.create(model=MODEL, messages=HI, stream=True))
    assert all(c.usage is None and c.choices for c in chunks)


# --- tool calls ---------------------------------------------------------------------------


def test_ollama_tool_call_has_object_arguments(server, native: ollama.Client) -> None:
    server.script(ScriptedTurn(tool_calls=[ScriptedToolCall("add", {"a": 2, "b": 3})]))
    reply = native.chat(model=MODEL, messages=HI, tools=[ADD_TOOL])
    [call] = reply.message.tool_calls
    assert call.function.name == "add" and call.function.arguments == {"a": 2, "b": 3}
    [received] = server.requests
    assert received.path == "/api/chat" and received.api == "ollama"
    # The ollama SDK keeps only type/items/description/enum of each property (titles are dropped).
    integer = {"type": "integer"}
    parameters = {"type": "object", "required": ["a", "b"], "properties": {"a": integer, "b": integer}}
    assert received.tools == [ToolSpec("add", "Add two integers.", parameters)]


def test_ollama_tool_arguments_text_is_an_object_when_it_parses(server) -> None:
    server.script(ScriptedTurn(tool_calls=[ScriptedToolCall("add", '{"a": 1}'), ScriptedToolCall("add", '{"a": ')]))
    body = httpx.post(server.url + "/api/chat", json={"model": MODEL, "messages": HI, "stream": False})
    calls = body.json()["message"]["tool_calls"]
    assert [c["function"]["arguments"] for c in calls] == [{"a": 1}, '{"a": ']


def test_openai_tool_call_has_id_and_json_string_arguments(server, oai: openai.OpenAI) -> None:
    server.script(
        ScriptedTurn(tool_calls=[ScriptedToolCall("add", {"a": 2, "b": 3}), ScriptedToolCall("add", '{"a": ')])
    )
    [choice] = oai.chat.completions.create(model=MODEL, messages=HI, tools=[ADD_TOOL]).choices
    first, malformed = choice.message.tool_calls
    assert first.id.startswith("call_") and first.type == "function" and first.id != malformed.id
    assert json.loads(first.function.arguments) == {"a": 2, "b": 3}
    assert malformed.function.arguments == '{"a": '
    assert choice.finish_reason == "tool_calls"


def test_openai_streamed_tool_call(server, oai: openai.OpenAI) -> None:
    server.script(ScriptedTurn(tool_calls=[ScriptedToolCall("add", {"a": 2, "b": 3}, id="call_x")]))
    chunks = list(oai.chat.completions.create(model=MODEL, messages=HI, tools=[ADD_TOOL], stream=True))
    [delta_call] = [call for c in chunks for call in c.choices[0].delta.tool_calls or []]
    assert (delta_call.index, delta_call.id, delta_call.function.name) == (0, "call_x", "add")
    assert json.loads(delta_call.function.arguments) == {"a": 2, "b": 3}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_tool_results_reach_the_engine_in_neutral_form_from_both_apis(
    server, native: ollama.Client, oai: openai.OpenAI
) -> None:
    native.chat(
        model=MODEL,
        messages=[
            *HI,
            {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "add", "arguments": {"a": 2}}}]},
            {"role": "tool", "content": "5", "tool_name": "add"},
        ],
    )
    oai.chat.completions.create(
        model=MODEL,
        messages=[
            *HI,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a":2}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "5"},
        ],
    )
    from_native, from_openai = (r.messages[1:] for r in server.requests)
    assert from_native[0]["tool_calls"] == [{"id": None, "name": "add", "arguments": {"a": 2}}]
    assert from_openai[0]["tool_calls"] == [{"id": "call_1", "name": "add", "arguments": {"a": 2}}]
    assert from_native[1] == {"role": "tool", "content": "5", "tool_name": "add"}
    assert from_openai[1] == {"role": "tool", "content": "5", "tool_call_id": "call_1", "tool_name": "add"}


# --- request translation and recording ----------------------------------------------------


def test_the_raw_body_is_recorded_exactly_as_received(server) -> None:
    payload = {"model": MODEL, "messages": HI, "stream": False, "keep_alive": "1m", "x-extra": [1]}
    assert httpx.post(server.url + "/api/chat", json=payload).status_code == 200
    [received] = server.requests
    assert received.body == payload and received.path == "/api/chat" and received.stream is False


def test_openai_sampling_fields_become_ollama_options(server, oai: openai.OpenAI) -> None:
    schema = Invoice.model_json_schema()
    oai.chat.completions.create(
        model=MODEL,
        messages=[{"role": "developer", "content": "Be brief."}, *HI],
        temperature=0.2,
        top_p=0.9,
        max_completion_tokens=64,
        seed=7,
        stop="END",
        response_format={"type": "json_schema", "json_schema": {"name": "invoice", "schema": schema, "strict": True}},
    )
    oai.chat.completions.create(model=MODEL, messages=HI, max_tokens=5, response_format={"type": "json_object"})
    typed, loose = server.requests
    assert typed.options == {"temperature": 0.2, "top_p": 0.9, "seed": 7, "num_predict": 64, "stop": ["END"]}
    assert typed.format == schema and typed.messages[0]["role"] == "system" and typed.api == "openai"
    assert loose.options == {"num_predict": 5} and loose.format == "json"


def test_native_options_pass_through_with_stop_as_a_list(server, native: ollama.Client) -> None:
    native.chat(model=MODEL, messages=HI, format="json", options={"num_ctx": 2048, "top_k": 5, "stop": "\n"})
    [received] = server.requests
    assert received.options == {"num_ctx": 2048, "top_k": 5, "stop": ["\n"]} and received.format == "json"


# --- model endpoints ----------------------------------------------------------------------


def test_model_listings_agree_on_both_apis(native: ollama.Client, oai: openai.OpenAI) -> None:
    names = ["smollm2:135m", "llama3.1:8b", "gpt-oss:20b", "qwen3:0.6b", "gemma3:4b"]
    tags = native.list().models
    assert [m.model for m in tags] == names
    assert tags[0].details.parameter_size == "135M" and tags[0].size > 0 and len(tags[0].digest) == 64
    models = oai.models.list().data
    assert [m.id for m in models] == names and {m.owned_by for m in models} == {"library"}


def test_show_describes_a_model_and_404s_an_unknown_one(native: ollama.Client) -> None:
    shown = native.show(MODEL)
    assert shown.capabilities == ["completion", "tools"] and shown.details.family == "llama3.1"
    assert shown.modelinfo["llama3.1.context_length"] > 0 and MODEL in shown.modelfile
    with pytest.raises(ollama.ResponseError) as raised:
        native.show("nope:1b")
    assert raised.value.status_code == 404 and raised.value.error == "model 'nope:1b' not found"


def test_ps_lists_a_model_after_it_was_used(native: ollama.Client) -> None:
    native.chat(model="qwen3:0.6b", messages=HI)
    [entry] = [m for m in native.ps().models if m.model == "qwen3:0.6b"]
    assert entry.expires_at > datetime.now(timezone.utc) and entry.size_vram == 0


def test_version_and_root(server) -> None:
    assert httpx.get(server.url + "/").text == "Ollama is running"
    body = httpx.get(server.url + "/api/version").json()
    assert isinstance(body["version"], str) and body["version"].count(".") >= 2
    assert body["server"] == "alloy-nb"  # how the picker and the advice tell the embedded server from Ollama


# --- errors -------------------------------------------------------------------------------

NOT_FOUND = 'model "nope:1b" not found, try pulling it first'


def test_unknown_model_is_404_on_ollama_and_leaves_the_script_alone(server, native: ollama.Client) -> None:
    server.script(ScriptedTurn("kept"))
    with pytest.raises(ollama.ResponseError) as raised:
        native.chat(model="nope:1b", messages=HI)
    assert (raised.value.status_code, raised.value.error) == (404, NOT_FOUND)
    with pytest.raises(ollama.ResponseError, match="not found"):
        list(native.chat(model="nope:1b", messages=HI, stream=True))
    assert server.engine.pending == 1
    assert native.chat(model=MODEL, messages=HI).message.content == "kept"
    assert [r.model for r in server.requests] == ["nope:1b", "nope:1b", MODEL]


def test_unknown_model_is_404_on_openai(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        oai.chat.completions.create(model="nope:1b", messages=HI)
    assert raised.value.body == {"message": NOT_FOUND, "type": "not_found_error", "param": None, "code": None}


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        json.dumps({"messages": HI}).encode(),
        json.dumps({"model": MODEL, "messages": "Hi"}).encode(),
        json.dumps({"model": 3, "messages": HI}).encode(),
        json.dumps([MODEL]).encode(),
    ],
)
def test_bad_requests_are_400_in_each_api_shape(server, content: bytes) -> None:
    native = httpx.post(server.url + "/api/chat", content=content)
    assert native.status_code == 400 and set(native.json()) == {"error"}
    assert native.json()["error"].startswith("invalid")
    compat = httpx.post(server.url + "/v1/chat/completions", content=content)
    assert compat.status_code == 400
    assert compat.json()["error"]["type"] == "invalid_request_error"
    assert compat.json()["error"]["message"].startswith("invalid")
    assert server.requests == []


def test_a_chat_without_messages_loads_the_model_on_ollama_and_is_a_400_on_v1(server) -> None:
    native = httpx.post(server.url + "/api/chat", json={"model": MODEL, "stream": False})
    assert native.status_code == 200 and (native.json()["done"], native.json()["done_reason"]) == (True, "load")
    compat = httpx.post(server.url + "/v1/chat/completions", json={"model": MODEL})
    assert compat.status_code == 400 and compat.json()["error"]["message"].startswith("invalid")
    assert server.requests == []  # a load generates nothing


@pytest.mark.parametrize("status", [429, 503])
def test_scripted_http_errors_reach_both_sdks(server, native: ollama.Client, oai: openai.OpenAI, status: int) -> None:
    server.script(*[ScriptedTurn(status=status, error="overloaded")] * 3)
    with pytest.raises(ollama.ResponseError) as raised:
        native.chat(model=MODEL, messages=HI)
    assert (raised.value.status_code, raised.value.error) == (status, "overloaded")
    with pytest.raises(ollama.ResponseError) as raised:
        list(native.chat(model=MODEL, messages=HI, stream=True))
    assert raised.value.status_code == status
    with pytest.raises(openai.APIStatusError) as failed:
        oai.chat.completions.create(model=MODEL, messages=HI)
    assert failed.value.status_code == status and failed.value.body["message"] == "overloaded"


def test_raw_body_is_sent_verbatim_and_breaks_json_parsing(server, native: ollama.Client) -> None:
    server.script(ScriptedTurn(raw_body="<html>proxy error</html>"), ScriptedTurn(raw_body="oops"))
    raw = httpx.post(server.url + "/api/chat", json={"model": MODEL, "messages": HI, "stream": False})
    assert (raw.status_code, raw.text) == (200, "<html>proxy error</html>")
    with pytest.raises(json.JSONDecodeError):
        native.chat(model=MODEL, messages=HI)


def test_close_mid_stream_is_an_incomplete_stream_for_ollama(server, native: ollama.Client) -> None:
    server.script(ScriptedTurn("a b c d", close_after_chunks=2))
    received: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        for part in native.chat(model=MODEL, messages=HI, stream=True):
            received.append(part.message.content)
    assert received == ["a ", "b "]


def test_close_mid_stream_is_a_connection_error_for_openai(server, oai: openai.OpenAI) -> None:
    server.script(ScriptedTurn("a b c d", close_after_chunks=1), ScriptedTurn("a b", close_after_chunks=0))
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in oai.chat.completions.create(model=MODEL, messages=HI, stream=True):
            received.append(chunk.choices[0].delta.content)
    assert received == ["a "]
    with pytest.raises(openai.APIConnectionError):
        oai.chat.completions.create(model=MODEL, messages=HI)


def test_delay_holds_back_the_first_byte(server, native: ollama.Client) -> None:
    server.script(ScriptedTurn("late", delay=0.2))
    started = time.perf_counter()
    assert native.chat(model=MODEL, messages=HI).message.content == "late"
    assert time.perf_counter() - started >= 0.2


def test_client_disconnect_stops_the_engine(server) -> None:
    server.script(ScriptedTurn(chunks=[f"w{i} " for i in range(100)], chunk_delay=0.05))
    payload = {"model": MODEL, "messages": HI}
    with httpx.stream("POST", server.url + "/api/chat", json=payload) as response:
        lines = response.iter_lines()
        assert [json.loads(next(lines))["message"]["content"] for _ in range(2)] == ["w0 ", "w1 "]
        assert server.engine.active == 1
    deadline = time.monotonic() + 2  # the whole script would take 5 s
    while server.engine.active and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.engine.active == 0


# --- the demo model (empty script) --------------------------------------------------------


def test_demo_echoes_the_last_user_message(native: ollama.Client, oai: openai.OpenAI) -> None:
    assert native.chat(model=MODEL, messages=HI).message.content == "You said: Hi"
    reply = oai.chat.completions.create(model="gpt-oss:20b", messages=[{"role": "user", "content": "Yo"}])
    assert reply.choices[0].message.content == "You said: Yo"


def test_demo_fills_a_format_schema_on_both_apis(native: ollama.Client, oai: openai.OpenAI) -> None:
    schema = Invoice.model_json_schema()
    native_reply = native.chat(model=MODEL, messages=HI, format=schema).message.content
    assert Invoice.model_validate_json(native_reply).lines
    response_format = {"type": "json_schema", "json_schema": {"name": "invoice", "schema": schema}}
    compat = oai.chat.completions.create(model=MODEL, messages=HI, response_format=response_format)
    assert Invoice.model_validate_json(compat.choices[0].message.content) == Invoice.model_validate_json(native_reply)


def test_demo_calls_the_first_tool_then_answers(native: ollama.Client) -> None:
    first = native.chat(model=MODEL, messages=HI, tools=[ADD_TOOL]).message
    [call] = first.tool_calls
    assert call.function.name == "add"
    AddArgs.model_validate(call.function.arguments)
    after = native.chat(
        model=MODEL, messages=[*HI, first, {"role": "tool", "content": "0", "tool_name": "add"}], tools=[ADD_TOOL]
    )
    assert after.message.content == "You said: Hi" and not after.message.tool_calls
