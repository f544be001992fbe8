"""Server inputs that used to give 500s or a dropped connection: each answers as Ollama would."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from alloy_nb.testing import ScriptedEngine, ServerThread


@pytest.fixture
def served() -> Iterator[tuple[str, ScriptedEngine]]:
    engine = ScriptedEngine()
    with ServerThread(engine) as thread:
        yield thread.url, engine


def post(url: str, path: str, raw: str) -> httpx.Response:
    return httpx.post(url + path, content=raw.encode(), headers={"Content-Type": "application/json"}, timeout=10)


@pytest.mark.parametrize("path", ["/api/chat", "/v1/chat/completions"])
def test_a_lone_surrogate_becomes_a_replacement_character(served, path: str) -> None:
    url, engine = served
    reply = post(url, path, '{"model": "smollm2:135m", "stream": false, "messages": [{"role": "user", "content": "hi \\ud800"}]}')
    assert reply.status_code == 200
    assert engine.requests[-1].messages[-1]["content"] == "hi \ufffd"


def test_a_lone_surrogate_in_the_model_name_is_a_404_not_a_500(served) -> None:
    url, _ = served
    reply = post(url, "/api/chat", '{"model": "x\\udfff", "stream": false, "messages": []}')
    assert reply.status_code == 404 and "not found" in reply.json()["error"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_json_constants_are_refused(served, constant: str) -> None:
    url, engine = served
    body = '{"model": "smollm2:135m", "stream": false, "messages": [], "format": {"type": "number", "minimum": '
    reply = post(url, "/api/chat", body + constant + "}}")
    assert reply.status_code == 400 and f"{constant.lstrip('-')} is not JSON" in reply.json()["error"]
    assert engine.requests == []


def test_arguments_nested_two_thousand_levels_deep_are_a_400_on_v1(served) -> None:
    url, _ = served
    deep = "[" * 2000 + "]" * 2000
    body = ('{"model": "smollm2:135m", "messages": [{"role": "assistant", "content": "", "tool_calls": '
            '[{"id": "c", "type": "function", "function": {"name": "f", "arguments": ' + deep + '}}]}]}')
    reply = post(url, "/v1/chat/completions", body)
    assert reply.status_code == 400 and "nested too deeply" in reply.json()["error"]["message"]


@pytest.mark.parametrize("name", ["../../etc/passwd", "a\\u0000b", "bad\\nname", "<b>x</b>", "x:" + "1" * 400 + "b", ""])
def test_invalid_names_are_never_pulled_or_listed(served, name: str) -> None:
    url, _ = served
    reply = post(url, "/api/pull", '{"model": "' + name + '", "stream": false}')
    assert reply.status_code == 400, reply.text
    listed = [m["name"] for m in httpx.get(url + "/api/tags").json()["models"]]
    assert all(m.startswith(("smollm2", "llama3.1", "gpt-oss", "qwen3", "gemma3")) for m in listed)


def test_a_valid_new_name_is_pulled(served) -> None:
    url, _ = served
    assert post(url, "/api/pull", '{"model": "library/tiny-model:1b", "stream": false}').json() == {"status": "success"}
