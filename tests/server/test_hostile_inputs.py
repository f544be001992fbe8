"""Server inputs that used to give 500s or a dropped connection: each answers as Ollama would."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import ollama
import openai
import pytest
from PIL import Image

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
    reply = post(
        url, path, '{"model": "smollm2:135m", "stream": false, "messages": [{"role": "user", "content": "hi \\ud800"}]}'
    )
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
    body = (
        '{"model": "smollm2:135m", "messages": [{"role": "assistant", "content": "", "tool_calls": '
        '[{"id": "c", "type": "function", "function": {"name": "f", "arguments": ' + deep + "}}]}]}"
    )
    reply = post(url, "/v1/chat/completions", body)
    assert reply.status_code == 400 and "nested too deeply" in reply.json()["error"]["message"]


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "a\\u0000b", "bad\\nname", "<b>x</b>", "x:" + "1" * 400 + "b", ""]
)
def test_invalid_names_are_never_pulled_or_listed(served, name: str) -> None:
    url, _ = served
    reply = post(url, "/api/pull", '{"model": "' + name + '", "stream": false}')
    assert reply.status_code == 400, reply.text
    listed = [m["name"] for m in httpx.get(url + "/api/tags").json()["models"]]
    assert all(m.startswith(("smollm2", "llama3.1", "gpt-oss", "qwen3", "gemma3")) for m in listed)


def test_a_valid_new_name_is_pulled(served) -> None:
    url, _ = served
    assert post(url, "/api/pull", '{"model": "library/tiny-model:1b", "stream": false}').json() == {"status": "success"}


def innermost(value: Any) -> Any:
    """What lies at the bottom of nested one-item lists."""
    while isinstance(value, list):
        (value,) = value
    return value


def test_a_lone_surrogate_950_levels_deep_is_repaired_without_recursion(served, server_log: list[str]) -> None:
    url, engine = served
    deep = "[" * 950 + '"x \\ud800"' + "]" * 950
    body = (
        '{"model": "smollm2:135m", "stream": false, "messages": [{"role": "user", "content": "hi"}], "x": ' + deep + "}"
    )
    reply = post(url, "/api/chat", body)
    assert reply.status_code == 200, reply.text[:300]
    assert innermost(engine.requests[-1].body["x"]) == "x \ufffd"
    assert server_log == []


@pytest.mark.parametrize("path", ["/api/chat", "/v1/chat/completions"])
def test_a_body_too_deep_to_parse_is_one_400_and_no_log(served, server_log: list[str], path: str) -> None:
    url, _ = served
    reply = post(url, path, '{"model": "smollm2:135m", "x": ' + "[" * 5000 + '"\\ud800"' + "]" * 5000 + "}")
    assert reply.status_code == 400 and "nested too deeply" in reply.text
    assert server_log == []


def test_oversized_body_is_413_in_each_error_shape(server) -> None:
    big = b'{"model": "smollm2:135m", "messages": [{"role": "user", "content": "' + b"x" * (65 * 1024 * 1024) + b'"}]}'
    native = httpx.post(f"{server.url}/api/chat", content=big, timeout=30)
    assert native.status_code == 413 and "too large" in native.json()["error"]
    compat = httpx.post(f"{server.url}/v1/chat/completions", content=big, timeout=30)
    assert compat.status_code == 413 and "too large" in compat.json()["error"]["message"]
    assert server.requests == []


# --- images -------------------------------------------------------------------------------

VISION = "gemma3:4b"


def blank_png(width: int, height: int) -> str:
    """A one-bit black PNG, base64: a few KB however many pixels it has."""
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(scope="module")
def bombs() -> dict[str, str]:
    """81 Mpx (under Pillow's own bomb check, over the demo model's limit) and 196 Mpx (over both)."""
    return {"81 Mpx": blank_png(9000, 9000), "196 Mpx": blank_png(14000, 14000)}


@pytest.mark.parametrize("size", ["81 Mpx", "196 Mpx"])
def test_an_image_bomb_is_a_quick_400_in_each_api_shape(served, bombs: dict[str, str], size: str) -> None:
    url, _ = served
    image = bombs[size]
    assert len(image) < 64_000
    started = time.monotonic()
    with pytest.raises(ollama.ResponseError) as native:
        ollama.Client(host=url, timeout=20).chat(
            model=VISION, messages=[{"role": "user", "content": "What is it?", "images": [image]}]
        )
    assert native.value.status_code == 400
    assert "megapixels" in native.value.error and "at most 25" in native.value.error, native.value.error
    content = [
        {"type": "text", "text": "What is it?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + image}},
    ]
    with openai.OpenAI(base_url=url + "/v1", api_key="ollama", max_retries=0, timeout=20) as client:
        with pytest.raises(openai.BadRequestError) as compat:
            client.chat.completions.create(model=VISION, messages=[{"role": "user", "content": content}])  # type: ignore[list-item,misc]
    assert isinstance(compat.value.body, dict) and "megapixels" in compat.value.body["message"]
    assert time.monotonic() - started < 3


def test_an_image_under_the_limit_is_still_described(served) -> None:
    url, _ = served
    reply = ollama.Client(host=url).chat(
        model=VISION, messages=[{"role": "user", "content": "What is it?", "images": [blank_png(300, 200)]}]
    )
    assert "a 300×200 PNG, mostly black" in reply.message.content
