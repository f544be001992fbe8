"""`POST /api/pull` through the real ollama SDK (and httpx), and the engines' `pull`."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import ollama
import pytest

from alloy_nb.server import EngineError
from alloy_nb.server.llama_engine import LlamaCppEngine

MANIFEST_ERROR = "pull model manifest: file does not exist"


def _new_name() -> str:
    return f"fresh-{uuid.uuid4().hex[:8]}:1b"


def _listed(url: str) -> set[str]:
    return {model.model or "" for model in ollama.Client(host=url).list().models}


def test_pulling_a_new_model_streams_progress_then_serves_it(server) -> None:
    name = _new_name()
    updates = list(ollama.Client(host=server.url).pull(name, stream=True))
    statuses = [update.status for update in updates]
    assert statuses[0] == "pulling manifest"
    assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    layers = [update for update in updates if update.total]
    assert len(layers) >= 3 and layers[-1].completed == layers[-1].total > 0
    for update in layers:
        assert update.status == f"pulling {update.digest.removeprefix('sha256:')[:12]}"
        assert update.digest.startswith("sha256:") and 0 <= update.completed <= update.total
    assert [u.completed for u in layers] == sorted(u.completed for u in layers)
    assert name in _listed(server.url)


def test_pulling_a_served_model_succeeds_at_once(server) -> None:
    updates = list(ollama.Client(host=server.url).pull("llama3.1:8b", stream=True))
    assert [update.status for update in updates] == ["success"]


def test_pulled_models_are_forgotten_on_reset(server) -> None:
    name = _new_name()
    ollama.Client(host=server.url).pull(name)
    server.engine.reset()
    assert name not in _listed(server.url)


def test_a_nonexistent_model_raises_the_manifest_error(server) -> None:
    with pytest.raises(ollama.ResponseError, match=MANIFEST_ERROR):
        list(ollama.Client(host=server.url).pull("nonexistent-model:1b", stream=True))
    assert "nonexistent-model:1b" not in _listed(server.url)


def test_without_streaming_only_the_final_status_comes_back(server) -> None:
    name = _new_name()
    assert ollama.Client(host=server.url).pull(name).status == "success"
    raw = httpx.post(server.url + "/api/pull", json={"name": _new_name(), "stream": False})
    assert raw.status_code == 200 and raw.json() == {"status": "success"}
    assert name in _listed(server.url)


def test_without_streaming_a_failure_is_an_error_status(server) -> None:
    with pytest.raises(ollama.ResponseError, match=MANIFEST_ERROR) as info:
        ollama.Client(host=server.url).pull("nonexistent:x")
    assert info.value.status_code == 500


def test_streamed_lines_are_ndjson(server) -> None:
    with httpx.stream("POST", server.url + "/api/pull", json={"model": "llama3.1:8b"}) as response:
        assert response.headers["content-type"] == "application/x-ndjson"
        assert [line for line in response.iter_lines()] == ['{"status":"success"}']


@pytest.mark.parametrize("body", [b"not json", b"[]", b"{}", b'{"model": ""}', b'{"model": "a:1b", "stream": "yes"}'])
def test_a_bad_body_is_a_400_with_an_error(server, body: bytes) -> None:
    response = httpx.post(server.url + "/api/pull", content=body)
    assert response.status_code == 400 and isinstance(response.json()["error"], str)


async def _pull(engine: LlamaCppEngine, name: str) -> list[dict[str, Any]]:
    return [update async for update in engine.pull(name)]


async def test_the_embedded_engine_cannot_download(smollm2: Path) -> None:
    engine = LlamaCppEngine({"x": smollm2})
    assert await _pull(engine, "x") == [{"status": "success"}]
    with pytest.raises(EngineError, match="no network access") as info:
        await _pull(engine, "other")
    assert "alloy-nb serve --model other=PATH.gguf" in info.value.message
