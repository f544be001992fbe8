"""ask / command through every strategy: text, typed outputs, routing, hosts and errors."""

from __future__ import annotations

import socket
from typing import Literal, Optional

import pytest
from sample_types import Color, Invoice, Person, Point
from wire_shapes import conversation, max_tokens, message, output_schema, reply_text, system_prompt, wire_path

import alloy_nb
from alloy_nb import (
    CommandError,
    ConfigurationError,
    ModelNotFound,
    OllamaUnavailable,
    ServerError,
    ask,
    command,
)
from alloy_nb.testing import ScriptedTurn as Reply


def test_plain_text_and_trace_body_is_what_the_server_received(server, api: str) -> None:
    server.script(Reply(text="Hello there."))
    value, trace = ask.traced("Say hello.", api=api, model="ollama:llama3.1:8b")
    assert value == "Hello there."
    [received] = server.requests
    assert received.path == wire_path(api)
    [request] = trace.requests
    assert request.body == received.body  # exactly as sent, byte for byte parsed
    assert request.url.endswith(wire_path(api))
    assert conversation(request.body, api) == [message(api, "user", "Say hello.")]
    assert trace.strategy == api and trace.status == "ok" and trace.result == "Hello there."
    assert trace.responses[0].usage.completion_tokens
    assert alloy_nb.last_trace() is trace


def test_trace_keeps_the_response_body_as_received(server, api: str) -> None:
    server.script(Reply(text="Hello there."))
    raw = ask.traced("Say hello.", api=api).trace.responses[0].raw
    assert reply_text(raw, api) == "Hello there."
    if api == "native":
        assert raw["message"] == {"role": "assistant", "content": "Hello there."}
    elif api == "openai_responses":
        [item] = raw["output"]
        assert (item["type"], item["role"], item["status"]) == ("message", "assistant", "completed")


@pytest.mark.parametrize(
    ("output", "reply", "expected"),
    [
        (str, "plain words", "plain words"),
        (int, '{"value": 42}', 42),
        (float, '{"value": 3.5}', 3.5),
        (bool, '{"value": false}', False),
        (list[int], '{"value": [1, 2, 3]}', [1, 2, 3]),
        (dict[str, float], '{"value": {"a": 0.5}}', {"a": 0.5}),
        (Optional[str], '{"value": null}', None),
        (Literal["spam", "ham"], '{"value": "ham"}', "ham"),
        (Color, '{"value": "red"}', Color.RED),
        (Point, '{"x": 1, "y": -2}', Point(1, -2)),
        (Person, '{"name": "Ada", "age": 36}', {"name": "Ada", "age": 36}),
        (Invoice, '{"number": "INV-7", "total": 12.5}', Invoice(number="INV-7", total=12.5)),
    ],
)
def test_each_output_kind(server, api: str, output: object, reply: str, expected: object) -> None:
    server.script(Reply(text=reply))
    value, trace = ask.traced("Answer.", output=output, api=api)
    assert value == expected
    body = server.requests[0].body
    schema = alloy_nb._outputs.output_spec(output).schema
    assert output_schema(body, api) == schema
    if schema is not None:
        assert "JSON Schema" in (system_prompt(body, api) or "")  # the prompt says it too
    assert trace.status == "ok"


def test_system_prompt_and_sampling_settings_on_the_wire(server, api: str) -> None:
    server.script(Reply(text="ok"))
    ask("Hi", api=api, system="Be terse.", temperature=0.2, max_tokens=16)
    body = server.requests[0].body
    assert system_prompt(body, api) == "Be terse." and max_tokens(body, api) == 16
    if api == "native":
        assert body["messages"][0] == {"role": "system", "content": "Be terse."}
        assert body["options"] == {"temperature": 0.2, "num_predict": 16}
    elif api == "openai_chat":
        assert body["messages"][0] == {"role": "system", "content": "Be terse."}
        assert (body["temperature"], body["max_tokens"]) == (0.2, 16)
    else:
        assert body["instructions"] == "Be terse." and body["input"] == [message(api, "user", "Hi")]
        assert (body["temperature"], body["max_output_tokens"]) == (0.2, 16)
    assert server.requests[0].options == {"temperature": 0.2, "num_predict": 16}  # what the server read


def test_native_only_options_pass_through_on_native(server) -> None:
    server.script(Reply(text="ok"))
    ask("Hi", api="native", extra={"ollama_options": {"num_ctx": 4096, "seed": 7, "keep_alive": "5m", "think": False}})
    body = server.requests[0].body
    assert body["options"] == {"num_ctx": 4096, "seed": 7}
    assert body["keep_alive"] == "5m" and body["think"] is False


def test_native_only_options_are_refused_on_openai_chat(server) -> None:
    with pytest.raises(ConfigurationError, match=r"num_ctx.*only exist on Ollama's native API.*api='native'"):
        ask("Hi", api="openai_chat", extra={"ollama_options": {"num_ctx": 4096}})
    assert server.requests == []


@pytest.mark.parametrize(
    ("model", "api", "path"),
    [
        ("ollama:gpt-oss:20b", None, "/v1/chat/completions"),
        ("ollama:gpt-oss:20b", "native", "/api/chat"),
        ("ollama:llama3.1:8b", None, "/api/chat"),
        ("ollama:llama3.1:8b", "openai_chat", "/v1/chat/completions"),
        ("ollama:llama3.1:8b", "openai_responses", "/v1/responses"),
    ],
)
def test_gpt_oss_routing_and_override(server, model: str, api: str | None, path: str) -> None:
    server.script(Reply(text="routed"))
    value, _ = ask.traced("Hi", model=model, api=api)
    assert value == "routed"
    assert server.requests[0].path == path
    assert server.requests[0].body["model"] == model.removeprefix("ollama:")


def test_extra_ollama_api_from_configure(server) -> None:
    alloy_nb.configure(model="ollama:gpt-oss:20b", extra={"ollama_api": "native"})
    server.script(Reply(text="ok"))
    assert ask("Hi") == "ok"
    assert server.requests[0].path == "/api/chat"


def test_ollama_host_is_honoured_by_both_strategies(server, api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    host_port = server.url.removeprefix("http://")
    monkeypatch.setenv("OLLAMA_HOST", host_port)  # Ollama's own spelling, no scheme
    server.script(Reply(text="found you"))
    value, trace = ask.traced("Hi", api=api)
    assert value == "found you"
    assert trace.host == server.url and trace.requests[0].url.startswith(server.url)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_no_server_says_what_to_do_and_trace_keeps_the_request(api: str) -> None:
    host = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(OllamaUnavailable, match=f"No Ollama server at {host}.*ollama serve.*alloy-nb serve") as info:
        ask("Hi", api=api, host=host)
    trace = info.value.trace
    assert trace.status == "error" and trace.error.type == "OllamaUnavailable"
    assert conversation(trace.requests[0].body, api)[-1] == message(api, "user", "Hi")
    assert trace.responses == []


def test_missing_model_lists_available_models_and_how_to_serve_it(server, api: str) -> None:
    with pytest.raises(
        ModelNotFound, match=r"'nope:1b' is not available.*llama3\.1:8b.*alloy-nb serve --model nope:1b="
    ) as info:
        ask("Hi", api=api, model="ollama:nope:1b")
    assert "smollm2:135m" in info.value.available
    assert info.value.trace.status == "error"


def test_http_error_status_is_a_server_error(server, api: str) -> None:
    server.script(Reply(status=503, error="overloaded"))
    with pytest.raises(ServerError, match=r"HTTP 503: .*overloaded") as info:
        ask("Hi", api=api, transient_retries=0)
    assert info.value.status_code == 503 and info.value.transient


def test_non_json_body_is_a_clear_error(server, api: str) -> None:
    server.script(Reply(raw_body="<html>proxy error</html>"))
    with pytest.raises(ServerError, match="answered with a reply that is not JSON, beginning '<html>proxy error"):
        ask("Hi", api=api)


def test_invalid_reply_without_finalize_raises_with_raw_text(server, api: str) -> None:
    server.script(Reply(text="I think it is forty-two."))
    with pytest.raises(CommandError, match="not JSON") as info:
        ask("How many?", output=int, api=api, auto_finalize_missing_output=False)
    assert info.value.raw_text == "I think it is forty-two."
    assert len(server.requests) == 1
    assert info.value.trace.responses[0].text == "I think it is forty-two."


def test_auto_finalize_sends_exactly_one_request_without_tools(server, api: str) -> None:
    server.script(Reply(text="I think it is forty-two."), Reply(text='{"value": 42}'))
    value, trace = ask.traced("How many?", output=int, api=api)
    assert value == 42
    assert len(server.requests) == 2
    final = trace.requests[-1]
    assert final.finalize and not final.body.get("tools")
    assert final.body == server.requests[1].body
    *_, answer, ask_again = conversation(final.body, api)
    assert answer == message(api, "assistant", "I think it is forty-two.")
    assert ask_again["role"] == "user" and "final answer" in ask_again["content"]


def test_an_empty_reply_stays_a_turn_of_the_conversation_for_the_finalize_turn(server, api: str) -> None:
    server.script(Reply(text=""), Reply(text='{"value": 42}'))
    assert ask("How many?", output=int, api=api) == 42
    roles = [m["role"] for m in server.requests[1].messages]  # as the server read them, whatever the wire
    assert roles == ["system", "user", "assistant", "user"] and server.requests[1].messages[2]["content"] == ""


def test_finalize_that_still_fails_raises_once(server, api: str) -> None:
    server.script(Reply(text="no idea"), Reply(text="still no idea"))
    with pytest.raises(CommandError, match="Even after one finalize turn") as info:
        ask("How many?", output=int, api=api)
    assert info.value.raw_text == "still no idea"
    assert len(server.requests) == 2


def test_command_decorator_typed_and_options(server, api: str) -> None:
    @command(output=Invoice, api=api, system="You read invoices.")
    def read_invoice(text: str) -> str:
        return f"Extract the invoice from: {text}"

    server.script(Reply(text='{"number": "A-1", "total": 99.0}'))
    assert read_invoice("Invoice A-1, total 99 EUR") == Invoice(number="A-1", total=99.0)
    body = server.requests[0].body
    assert conversation(body, api)[-1] == message(api, "user", "Extract the invoice from: Invoice A-1, total 99 EUR")
    assert (system_prompt(body, api) or "").startswith("You read invoices.")
    assert "Invoice" in repr(read_invoice)


def test_command_with_options_changes_only_the_copy(server) -> None:
    @command(model="ollama:llama3.1:8b")
    def hello() -> str:
        return "Hello"

    server.script(Reply(text="a"), Reply(text="b"))
    assert hello.with_options(model="ollama:qwen3:0.6b", api="openai_chat")() == "a"
    assert hello() == "b"
    first, second = server.requests
    assert (first.path, first.body["model"]) == ("/v1/chat/completions", "qwen3:0.6b")
    assert (second.path, second.body["model"]) == ("/api/chat", "llama3.1:8b")


async def test_async_ask_and_async_command(server, api: str) -> None:
    @command(output=float, api=api)
    async def estimate(thing: str) -> str:
        return f"Estimate {thing}"

    server.script(Reply(text="async hello"), Reply(text='{"value": 1.5}'))
    assert await ask.async_("Hi", api=api) == "async hello"
    assert await estimate("pi/2") == 1.5
    assert conversation(server.requests[1].body, api)[-1] == message(api, "user", "Estimate pi/2")


def test_bad_prompt_type_and_model_string_fail_before_sending(server) -> None:
    with pytest.raises(ConfigurationError, match="prompt must be a string"):
        ask(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="ollama:<model>"):
        ask("Hi", model="llama3")
    assert server.requests == []


def test_trace_round_trips_through_json(server, api: str) -> None:
    server.script(Reply(text='{"x": 3, "y": 4}'))
    _, trace = ask.traced("Point?", output=Point, api=api)
    loaded = alloy_nb.Trace.from_json(trace.to_json())
    assert loaded.to_dict() == trace.to_dict()
    assert loaded.result == {"x": 3, "y": 4}
    assert "Point" in trace.summary() or "x" in trace.summary()


def test_history_goes_between_system_and_prompt(server, api: str) -> None:
    server.script(Reply(text="Blue."))
    history = [{"role": "user", "content": "My favourite colour is blue."}, {"role": "assistant", "content": "Noted."}]
    ask("What is my favourite colour?", api=api, system="Remember.", history=history)
    assert server.requests[0].messages == [  # as the server read them, whatever the wire
        {"role": "system", "content": "Remember."},
        *history,
        {"role": "user", "content": "What is my favourite colour?"},
    ]
    with pytest.raises(ConfigurationError, match="history entries"):
        ask("x", history=[{"role": "tool", "content": "5"}])
