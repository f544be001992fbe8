"""The host client: configured headers reach every metadata call, and async paths never block.

A small real HTTP server (Starlette under uvicorn, on loopback) records each request's path and
headers; it answers like Ollama, with a `/api/tags` that takes its time.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

import alloy_nb
from alloy_nb import ModelNotFound, ask
from alloy_nb._choices import STRATEGIES
from alloy_nb._config import current
from alloy_nb._host import Host
from alloy_nb._notebook.host_tables import models_table
from alloy_nb._notebook.pull import pull_with_progress
from alloy_nb.server.running import bind

TAGS_DELAY_S = 0.6
TAGS = {
    "models": [
        {
            "name": "tiny:1b",
            "model": "tiny:1b",
            "size": 1000,
            "modified_at": "2026-01-01T00:00:00Z",
            "digest": "x",
            "details": {"family": "tiny", "quantization_level": "Q4_0"},
        }
    ]
}


class RecordingHost:
    """An Ollama look-alike that keeps (path, headers) of every request."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.tags_delay_s = 0.0  # a slow listing, for the test that needs one
        app = Starlette(
            routes=[
                Route("/api/version", self.version),
                Route("/api/tags", self.tags),
                Route("/api/show", self.show, methods=["POST"]),
                Route("/api/pull", self.pull, methods=["POST"]),
                Route("/api/chat", self.chat, methods=["POST"]),
                Route("/v1/chat/completions", self.chat_v1, methods=["POST"]),
                Route("/v1/responses", self.chat_v1, methods=["POST"]),
            ]
        )
        self.socket = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def _seen(self, request: Request) -> None:
        self.seen.append((request.url.path, dict(request.headers)))

    async def version(self, request: Request) -> Response:
        self._seen(request)
        return JSONResponse({"version": "0.12.0"})

    async def tags(self, request: Request) -> Response:
        self._seen(request)
        await asyncio.sleep(self.tags_delay_s)
        return JSONResponse(TAGS)

    async def show(self, request: Request) -> Response:
        self._seen(request)
        return JSONResponse(
            {"modelfile": "", "details": {"family": "tiny"}, "model_info": {}, "capabilities": ["completion"]}
        )

    async def pull(self, request: Request) -> Response:
        self._seen(request)
        return StreamingResponse(
            iter([b'{"status":"pulling manifest"}\n', b'{"status":"success"}\n']), media_type="application/x-ndjson"
        )

    async def chat(self, request: Request) -> Response:
        self._seen(request)
        return JSONResponse({"error": "model 'nosuch' not found"}, status_code=404)

    async def chat_v1(self, request: Request) -> Response:
        self._seen(request)
        return JSONResponse(
            {"error": {"message": "model 'nosuch' not found", "type": "not_found_error"}}, status_code=404
        )

    def paths_with(self, header: str, value: str) -> set[str]:
        return {path for path, headers in self.seen if headers.get(header) == value}


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingHost]:
    recording = RecordingHost()
    recording.thread.start()
    while not recording.server.started:
        time.sleep(0.01)
    monkeypatch.setenv("OLLAMA_HOST", recording.url)
    alloy_nb.reset_configuration()
    alloy_nb.configure(headers={"Authorization": "Bearer proxy-token"}, model="ollama:nosuch")
    yield recording
    alloy_nb.reset_configuration()
    recording.server.should_exit = True
    recording.thread.join(5)


def test_configured_headers_reach_every_host_call(host: RecordingHost, capsys) -> None:
    config = current()
    assert Host(config).info().models[0].name == "tiny:1b"
    assert Host(config).show("tiny:1b").details.family == "tiny"
    assert models_table(config).rows[0][0] == "tiny:1b"
    pull_with_progress(config, "tiny:1b")
    with pytest.raises(ModelNotFound, match=r"Models there: tiny:1b\. Pull it with `ollama pull nosuch`"):
        ask("hi", api="native")
    for api in ("openai_chat", "openai_responses"):
        with pytest.raises(ModelNotFound, match="Models there: tiny:1b"):
            ask("hi", api=api)
    assert "Pulled tiny:1b." in capsys.readouterr().out
    reached = host.paths_with("authorization", "Bearer proxy-token")
    chats = {"/api/chat", "/v1/chat/completions", "/v1/responses"}
    assert reached == {"/api/version", "/api/tags", "/api/show", "/api/pull", *chats}
    assert reached == {path for path, _ in host.seen}


@pytest.mark.parametrize("api", STRATEGIES)
async def test_the_missing_model_listing_does_not_block_the_event_loop(host: RecordingHost, api: str) -> None:
    ticks: list[float] = []
    host.tags_delay_s = TAGS_DELAY_S

    async def heartbeat() -> None:
        while True:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.02)

    beating = asyncio.create_task(heartbeat())
    started = time.perf_counter()
    with pytest.raises(ModelNotFound, match="Models there: tiny:1b"):
        await ask.async_("hi", api=api)
    beating.cancel()
    assert time.perf_counter() - started >= TAGS_DELAY_S  # the slow /api/tags was read
    gaps = [later - earlier for earlier, later in itertools.pairwise(ticks)]
    assert max(gaps) < TAGS_DELAY_S / 2, f"the event loop stalled for {max(gaps):.2f}s"
