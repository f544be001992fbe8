"""The real model through the real SDKs and through alloy_nb, both strategies. Structure, not wording."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import hashlib
import json
import time
import typing
from typing import Literal, Optional

import httpx
import ollama
import openai
import pytest
from sample_types import City

from alloy_nb import ask, command, ensure, tool
from alloy_nb.server.embedded_model import bundled_smollm2, served_smollm2


@dataclasses.dataclass
class Pair:
    left: int
    right: int


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


def test_model_listing_has_real_size_digest_and_template(embedded) -> None:
    path = served_smollm2()
    tags = httpx.get(f"{embedded.url}/api/tags").json()["models"]
    [card] = [m for m in tags if m["name"] == "smollm2:135m"]
    assert card["size"] == path.stat().st_size
    assert card["digest"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert card["details"]["quantization_level"] == "Q8_0" and card["details"]["family"] == "llama"
    show = httpx.post(f"{embedded.url}/api/show", json={"model": "smollm2:135m"}).json()
    assert "<|im_start|>" in show["template"] and "temperature" in show["parameters"]
    models = openai.OpenAI(base_url=f"{embedded.url}/v1", api_key="ollama").models.list()
    assert "smollm2:135m" in [m.id for m in models.data]


def test_ollama_sdk_streams_with_real_counts(embedded) -> None:
    client = ollama.Client(host=embedded.url)
    parts = list(
        client.chat(
            model="smollm2:135m",
            messages=[{"role": "user", "content": "Name a colour."}],
            stream=True,
            options={"num_predict": 24, "temperature": 0},
        )
    )
    text = "".join(p.message.content or "" for p in parts)
    final = parts[-1]
    assert text.strip() and final.done
    assert final.eval_count == len([p for p in parts if p.message.content]) and final.prompt_eval_count > 5
    assert final.eval_duration > 0 and final.total_duration >= final.eval_duration


def test_openai_sdk_streams_with_usage(embedded) -> None:
    client = openai.OpenAI(base_url=f"{embedded.url}/v1", api_key="ollama")
    chunks = list(
        client.chat.completions.create(
            model="smollm2:135m",
            messages=[{"role": "user", "content": "Say hi."}],
            stream=True,
            max_tokens=16,
            temperature=0,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert chunks[-1].usage.completion_tokens > 0 and chunks[-1].usage.prompt_tokens > 5


def test_format_schema_is_enforced_on_both_sdks(embedded) -> None:
    schema = City.model_json_schema()
    native = ollama.Client(host=embedded.url).chat(
        model="smollm2:135m",
        messages=[{"role": "user", "content": "Describe Paris."}],
        format=schema,
        options={"temperature": 0, "num_predict": 64},
    )
    City.model_validate_json(native.message.content)
    compat = openai.OpenAI(base_url=f"{embedded.url}/v1", api_key="ollama").chat.completions.create(
        model="smollm2:135m",
        messages=[{"role": "user", "content": "Describe Rome."}],
        max_tokens=64,
        temperature=0,
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}},
    )
    City.model_validate_json(compat.choices[0].message.content)


def test_streamed_text_through_alloy(api: str) -> None:
    stream = ask.stream("What is the capital of France?", api=api, max_tokens=32)
    pieces = list(stream)
    assert len(pieces) > 1 and "".join(pieces).strip()
    response = stream.trace.responses[0]
    assert response.ttft_s is not None and response.usage.completion_tokens == len(pieces)


@pytest.mark.parametrize(
    ("output", "prompt"),
    [
        (int, "How many legs does a cat have?"),
        (float, "What is half of 3?"),
        (bool, "Is water wet?"),
        (list[str], "List two fruits."),
        (dict[str, int], "Give the ages of Ann and Bob."),
        (Optional[str], "What is the name of the first person on Mars, if any?"),
        (Literal["yes", "no"], "Is the sky blue?"),
        (Mood, "How does a birthday party make people feel?"),
        (Pair, "Give two small numbers."),
        (City, "Describe Paris."),
    ],
)
def test_each_typed_output_kind_validates(api: str, output: object, prompt: str) -> None:
    value, trace = ask.traced(prompt, output=output, api=api, max_tokens=96)
    assert trace.status == "ok"
    from pydantic import TypeAdapter

    TypeAdapter(output).validate_python(value)


def test_tool_using_command_makes_a_real_tool_call(api: str) -> None:
    calls: list[tuple[int, int]] = []

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers and return their sum."""
        calls.append((a, b))
        return a + b

    @command(tools=[add], api=api, max_tokens=96, max_tool_turns=3)
    def compute(a: int, b: int) -> str:
        return f"Use the add tool to compute {a} + {b}."

    value, trace = compute.traced(2, 3)
    assert calls, "the model never called the tool"
    assert trace.status == "ok" and isinstance(value, str)
    assert trace.tool_events[0].name == "add" and trace.tool_events[0].error is None
    body = trace.requests[1].body
    if api == "openai_responses":  # the result is an input item that quotes the call's id
        result = next(item for item in body["input"] if item["type"] == "function_call_output")
        assert result["call_id"] == trace.tool_events[0].call_id
    else:
        tool_message = next(m for m in body["messages"] if m["role"] == "tool")
        assert ("tool_name" in tool_message) if api == "native" else ("tool_call_id" in tool_message)


def test_disconnect_mid_stream_frees_the_model(embedded) -> None:
    body = {
        "model": "smollm2:135m",
        "messages": [{"role": "user", "content": "Write a very long story."}],
        "options": {"num_predict": 2000},
    }
    with httpx.stream("POST", f"{embedded.url}/api/chat", json=body, timeout=30) as reply:
        lines = reply.iter_lines()
        for _ in range(3):
            assert json.loads(next(lines))["done"] is False
    started = time.perf_counter()
    assert ask("Say OK.", max_tokens=8).strip()
    assert time.perf_counter() - started < 15, "the abandoned 2000-token generation kept the model busy"


async def test_concurrent_requests_queue_and_all_finish() -> None:
    prompts = [f"Name a number bigger than {n}." for n in range(4)]
    results = await asyncio.gather(
        *(ask.async_(p, max_tokens=16, api=api) for p, api in zip(prompts, ["native", "openai_chat"] * 2, strict=True))
    )
    assert len(results) == 4 and all(r.strip() for r in results)


def test_num_predict_truncation_and_num_ctx_reload(embedded) -> None:
    client = ollama.Client(host=embedded.url)
    short = client.chat(
        model="smollm2:135m",
        messages=[{"role": "user", "content": "Tell a long story."}],
        options={"num_predict": 5, "temperature": 0},
    )
    assert short.done_reason == "length" and short.eval_count == 5
    reloaded = client.chat(
        model="smollm2:135m", messages=[{"role": "user", "content": "Hi"}], options={"num_predict": 4, "num_ctx": 1024}
    )
    assert reloaded.load_duration > 0
    again = client.chat(
        model="smollm2:135m", messages=[{"role": "user", "content": "Hi"}], options={"num_predict": 4, "num_ctx": 1024}
    )
    assert again.load_duration == 0


@pytest.mark.parametrize("asked", [10**9, "abc", -5])
def test_num_ctx_is_clamped_to_what_the_model_supports(embedded, asked) -> None:
    body = {
        "model": "smollm2:135m",
        "stream": False,
        "messages": [{"role": "user", "content": "Hi"}],
        "options": {"num_predict": 2, "num_ctx": asked},
    }
    reply = httpx.post(f"{embedded.url}/api/chat", json=body, timeout=60)
    assert reply.status_code == 200, reply.text
    assert reply.json()["done"] is True


def test_format_json_gives_a_json_object(embedded) -> None:
    reply = ollama.Client(host=embedded.url).chat(
        model="smollm2:135m",
        messages=[{"role": "user", "content": "Give a dog's name as a JSON object."}],
        format="json",
        options={"temperature": 0, "num_predict": 200},
    )
    assert reply.done_reason == "stop", reply.message.content
    assert isinstance(json.loads(reply.message.content), dict)


def test_serve_lists_and_answers_with_an_added_gguf(tmp_path) -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "alloy_nb.server",
            "serve",
            "--port",
            str(port),
            "--model",
            f"tiny:v2={bundled_smollm2()}",
        ],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                names = [m["name"] for m in httpx.get(f"{url}/api/tags").json()["models"]]
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert names == ["smollm2:135m", "tiny:v2"]
        reply = ollama.Client(host=url).chat(
            model="tiny:v2", messages=[{"role": "user", "content": "Hi"}], options={"num_predict": 4}
        )
        assert reply.done and reply.eval_count > 0
    finally:
        process.terminate()
        process.wait(timeout=10)


# alloy-ai's own Ollama scenarios, on the embedded model (written as its docs use them: typing.TypedDict, @ensure)


class Product(typing.TypedDict):
    name: str
    price: float


def test_tool_with_an_optional_parameter_runs_with_its_default(api: str) -> None:
    @tool
    def add(a: int, b: int = 1) -> int:
        """Add two integers; b defaults to 1."""
        return a + b

    @command(output=int, tools=[add], api=api, max_tokens=96, max_tool_turns=3)
    def use_add() -> str:
        return "Use add(a=2) to compute 2+1. Return only the number."

    value, trace = use_add.traced()
    assert isinstance(value, int) and trace.tool_events
    for event in trace.tool_events:
        arguments = json.loads(event.arguments) if isinstance(event.arguments, str) else event.arguments
        assert event.error is None and event.result == str(arguments["a"] + arguments.get("b", 1))


def test_typing_typeddict_product(api: str) -> None:
    product = ask("Return a Product JSON with name='Test' and price=9.99.", output=Product, api=api, max_tokens=96)
    assert isinstance(product, dict) and isinstance(product["name"], str) and product["name"]
    assert isinstance(product["price"], (int, float))


def test_the_model_repeats_a_contract_message(api: str) -> None:
    @tool
    @ensure(lambda result: False, "pineapple")
    def secret_word() -> str:
        """Returns the secret word."""
        return "banana"

    @command(tools=[secret_word], api=api, max_tokens=96, max_tool_turns=2)
    def check() -> str:
        return "Call secret_word, then reply with only the word it returned."

    value, trace = check.traced()
    assert trace.tool_events and all(e.contract == "ensure" for e in trace.tool_events)
    tool_messages = [m.text for m in trace.requests[-1].messages if m.role == "tool"]
    assert tool_messages and all(content == "pineapple" for content in tool_messages)
    assert "pineapple" in value.lower()


# Tool calls that end and never leak the reply envelope (requests written as third-party clients send them)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
ASK_WEATHER = [{"role": "user", "content": "Call get_weather for Paris."}]


@pytest.mark.parametrize("limit", [6, 20])  # the whole call takes 27 tokens
def test_a_cut_tool_reply_carries_complete_calls_or_none_never_the_envelope(embedded, limit: int) -> None:
    native = httpx.post(
        f"{embedded.url}/api/chat",
        json={
            "model": "smollm2:135m",
            "messages": ASK_WEATHER,
            "tools": [WEATHER_TOOL],
            "stream": False,
            "options": {"num_predict": limit, "temperature": 0},
        },
        timeout=60,
    ).json()
    assert native["done_reason"] == "length" and native["eval_count"] == limit
    assert native["message"]["content"] == "" and "tool_calls" not in native["message"]
    compat = httpx.post(
        f"{embedded.url}/v1/chat/completions",
        json={
            "model": "smollm2:135m",
            "messages": ASK_WEATHER,
            "tools": [WEATHER_TOOL],
            "max_tokens": limit,
            "temperature": 0,
        },
        timeout=60,
    ).json()
    choice = compat["choices"][0]
    assert choice["finish_reason"] == "length" and not choice["message"].get("content")
    assert not choice["message"].get("tool_calls")


def test_a_tool_reply_without_a_token_limit_ends_with_one_call_per_tool(embedded) -> None:
    for api in ("native", "openai_chat"):
        started = time.perf_counter()
        if api == "native":
            reply = ollama.Client(host=embedded.url).chat(
                model="smollm2:135m", messages=ASK_WEATHER, tools=[WEATHER_TOOL], options={"temperature": 0}
            )
            calls = [(c.function.name, dict(c.function.arguments)) for c in reply.message.tool_calls or []]
        else:
            client = openai.OpenAI(base_url=f"{embedded.url}/v1", api_key="ollama")
            answer = client.chat.completions.create(
                model="smollm2:135m",
                messages=ASK_WEATHER,
                tools=[WEATHER_TOOL],
                temperature=0,  # type: ignore[arg-type,list-item]
            )
            calls = [
                (c.function.name, json.loads(c.function.arguments)) for c in answer.choices[0].message.tool_calls or []
            ]
        assert time.perf_counter() - started < 10
        assert calls == [("get_weather", {"city": "Paris"})], api


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"think": True}, '"smollm2:135m" does not support thinking'),
        ({"images": True}, "this model is missing data required for image input"),
    ],
)
def test_the_embedded_model_refuses_thinking_and_images_as_ollama_does(embedded, extra: dict, error: str) -> None:
    message = {"role": "user", "content": "hi"}
    if extra.pop("images", False):
        message["images"] = ["iVBORw0KGgo="]
    reply = httpx.post(
        f"{embedded.url}/api/chat",
        json={"model": "smollm2:135m", "messages": [message], "stream": False, **extra},
        timeout=30,
    )
    assert (reply.status_code, reply.json()) == (400, {"error": error})
    show = httpx.post(f"{embedded.url}/api/show", json={"model": "smollm2:135m"}, timeout=30).json()
    assert show["capabilities"] == ["completion", "tools", "embedding"] and "thinking" not in show
