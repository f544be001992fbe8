"""`/api/generate` is bounded in size like `/api/chat`: a body over the limit is a 413 in Ollama's error
shape, whether it declares its length or arrives chunked without one, through httpx and the ollama SDK,
and nothing reaches the engine."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import ollama
import pytest

from alloy_nb.server.bodies import MAX_BODY_BYTES

MODEL = "smollm2:135m"
PROMPT = "x" * (MAX_BODY_BYTES + 1024 * 1024)
BIG = b'{"model": "' + MODEL.encode() + b'", "stream": false, "prompt": "' + PROMPT.encode() + b'"}'


def _chunked(body: bytes, size: int = 1024 * 1024) -> Iterator[bytes]:
    """The body in pieces, so httpx sends it chunked, with no Content-Length to refuse it by."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_oversized_generate_body_is_413_in_ollamas_shape(server, framing: str) -> None:
    content = BIG if framing == "content-length" else _chunked(BIG)
    reply = httpx.post(f"{server.url}/api/generate", content=content, timeout=30)
    assert reply.status_code == 413
    assert ("content-length" in reply.request.headers) is (framing == "content-length")
    assert list(reply.json()) == ["error"] and "too large" in reply.json()["error"]
    assert server.requests == []


def test_the_ollama_sdk_gets_the_413_as_a_response_error(server) -> None:
    with pytest.raises(ollama.ResponseError, match="too large") as refused:
        ollama.Client(host=server.url, timeout=30).generate(model=MODEL, prompt=PROMPT)
    assert refused.value.status_code == 413
    assert server.requests == []


def test_a_body_under_the_limit_is_answered(server) -> None:
    reply = httpx.post(
        f"{server.url}/api/generate", json={"model": MODEL, "prompt": "y" * 1024 * 1024, "stream": False}, timeout=30
    )
    assert reply.status_code == 200 and reply.json()["done"] is True
    assert len(server.requests) == 1
