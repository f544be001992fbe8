"""The server's request parsing over arbitrary bodies: never a 500, never a hang, errors in the endpoint's shape."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

NATIVE = ("/api/chat", "/api/show", "/api/pull")
OPENAI = ("/v1/chat/completions",)
# ("nonexistent…" names are the scripted engine's deliberate pull failure, a 500 as Ollama answers it.)
MODELS = st.sampled_from(["smollm2:135m", "gpt-oss:20b", "nope:1b", ""]) | st.text(max_size=8)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _fields(names: dict[str, st.SearchStrategy[Any]], loose: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with some of the endpoint's own fields and stray ones; `loose` values may be any JSON."""
    known = st.fixed_dictionaries(
        {}, optional={name: values | JSON if loose else values for name, values in names.items()}
    )
    return st.tuples(known, st.dictionaries(st.text(max_size=6), JSON, max_size=2)).map(lambda kv: {**kv[1], **kv[0]})


def _object(
    names: dict[str, st.SearchStrategy[Any]], required: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """A well-typed object: the required fields, some optional ones; only schemas inside are arbitrary."""
    return st.tuples(st.fixed_dictionaries(required), _fields(names, loose=False)).map(
        lambda parts: {**parts[1], **parts[0]}
    )


SCHEMA = _fields(
    {
        "type": st.sampled_from(["object", "array", "string", "integer", "number", "boolean", "null"]),
        "properties": st.dictionaries(st.text(max_size=4), JSON, max_size=2),
        "required": st.lists(JSON),
        "items": JSON,
        "anyOf": st.lists(JSON, max_size=2),
        "enum": st.lists(JSON, max_size=2),
        "minItems": JSON,
        "maxLength": JSON,
        "$ref": st.text(max_size=10),
    }
)
NAME = st.text(max_size=6)
TOOL = _object(
    {"type": st.just("function")}, {"function": _object({"description": NAME, "parameters": SCHEMA}, {"name": NAME})}
)
NATIVE_CALL = _object(
    {"id": NAME}, {"function": _object({}, {"name": NAME, "arguments": st.dictionaries(NAME, JSON) | NAME})}
)
OPENAI_CALL = _object(
    {"id": NAME, "type": st.just("function")}, {"function": _object({}, {"name": NAME, "arguments": NAME})}
)
ROLES = st.sampled_from(["system", "user", "assistant", "tool"])
NATIVE_MESSAGE = _object(
    {
        "content": st.text(max_size=10),
        "tool_calls": st.lists(NATIVE_CALL, max_size=2),
        "tool_name": NAME,
        "images": st.lists(NAME, max_size=1),
    },
    {"role": ROLES},
)
OPENAI_MESSAGE = _object(
    {
        "content": st.text(max_size=10) | st.lists(_object({"text": st.text()}, {"type": st.just("text")})),
        "tool_calls": st.lists(OPENAI_CALL, max_size=2),
        "tool_call_id": NAME,
    },
    {"role": ROLES | st.just("developer")},
)
SERVED = st.sampled_from(["smollm2:135m", "gpt-oss:20b"])
COMMON = {"model": SERVED, "stream": st.booleans(), "tools": st.lists(TOOL, max_size=2)}
NATIVE_CHAT = _object(
    {
        "format": SCHEMA | st.sampled_from(["", "json"]),
        "think": st.booleans(),
        "keep_alive": NAME,
        "options": st.dictionaries(st.sampled_from(["num_predict", "stop", "temperature", "seed"]), JSON),
    },
    {**COMMON, "messages": st.lists(NATIVE_MESSAGE, min_size=1, max_size=3)},
)
OPENAI_CHAT = _object(
    {
        "response_format": _object(
            {"json_schema": _object({"schema": SCHEMA}, {"name": NAME})},
            {"type": st.sampled_from(["text", "json_object", "json_schema"])},
        ),
        "stream_options": _object({}, {"include_usage": st.booleans()}),
        "max_tokens": st.integers(1, 50),
        "temperature": st.floats(0, 2),
        "stop": NAME | st.lists(NAME, max_size=2),
        "tool_choice": NAME,
    },
    {**COMMON, "messages": st.lists(OPENAI_MESSAGE, min_size=1, max_size=3)},
)
LOOSE_CHAT = _fields(
    {
        "model": MODELS,
        "messages": st.lists(NATIVE_MESSAGE | OPENAI_MESSAGE | JSON, max_size=3),
        "stream": st.booleans(),
        "tools": st.lists(TOOL | JSON, max_size=2),
        "format": SCHEMA,
    }
)
PULL = _fields({"model": MODELS, "name": MODELS, "stream": st.booleans()})
ANY_PATH = st.sampled_from(NATIVE + OPENAI)
REQUESTS = st.one_of(
    st.tuples(ANY_PATH, st.binary(max_size=64) | JSON.map(json.dumps) | LOOSE_CHAT.map(json.dumps)),
    st.tuples(st.just("/api/chat"), NATIVE_CHAT.map(json.dumps)),
    st.tuples(st.just("/v1/chat/completions"), OPENAI_CHAT.map(json.dumps)),
    st.tuples(st.sampled_from(["/api/show", "/api/pull"]), PULL.map(json.dumps)),
)


def _native_error(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"] != ""


def _openai_error(body: Any) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and isinstance(error.get("message"), str) and isinstance(error.get("type"), str)


def _lines(reply: httpx.Response) -> list[Any]:
    """A streamed 200's records: ndjson lines, or SSE `data:` payloads (without `[DONE]`)."""
    if reply.headers["content-type"].startswith("text/event-stream"):
        payloads = [line.removeprefix("data: ") for line in reply.text.split("\n") if line.startswith("data: ")]
        return [json.loads(p) for p in payloads if p != "[DONE]"]
    return [json.loads(line) for line in reply.text.split("\n") if line.strip()]


def _check(path: str, reply: httpx.Response) -> None:
    is_error: Callable[[Any], bool] = _openai_error if path in OPENAI else _native_error
    assert reply.status_code < 500, (reply.status_code, reply.text[:500])
    if reply.status_code >= 400:
        assert is_error(reply.json()), reply.text[:500]
    elif reply.headers["content-type"].startswith("application/json"):
        assert not is_error(reply.json()), reply.text[:500]
    else:
        records = _lines(reply)
        assert records and not any(is_error(record) for record in records), reply.text[:500]


@pytest.fixture
def client(server) -> Iterator[httpx.Client]:
    """An HTTP client that gives up after 5 s: a hang fails the example instead of the run."""
    with httpx.Client(base_url=server.url, timeout=5.0) as client:
        yield client


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(REQUESTS)
@example(("/api/chat", "[" * 100_000))
@example(("/v1/chat/completions", '{"model": "smollm2:135m", "messages": ' + "[" * 50_000))
@example(
    ("/api/chat", json.dumps({"model": "smollm2:135m", "messages": [{"role": "user"}], "format": {"required": 5}}))
)
@example(
    (
        "/api/chat",
        json.dumps(
            {
                "model": "smollm2:135m",
                "messages": [{"role": "user"}],
                "format": {"type": "array", "minItems": 3, "items": {"$ref": "#"}},
            }
        ),
    )
)
@example(
    ("/api/chat", json.dumps({"model": "smollm2:135m", "messages": [{"role": "user", "content": "a\u2028b\x85c"}]}))
)
def test_any_body_gets_an_answer_in_the_endpoint_shape(client: httpx.Client, call: tuple[str, str | bytes]) -> None:
    path, body = call
    _check(path, client.post(path, content=body, headers={"content-type": "application/json"}))
