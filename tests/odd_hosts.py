"""Hosts that fail below the API, for tests: real HTTP servers (Starlette under uvicorn) on loopback ports.

`trickling()` answers every chat request 200 and then one byte every `interval` seconds (a reply that never
ends, and never stalls long enough for a read timeout); `login_page()` answers 200 with an HTML page, as a
proxy in front of the real server does when it wants a login.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from alloy_nb.server.running import bind

CHAT_PATHS = ("/api/chat", "/v1/chat/completions", "/v1/responses")
LOGIN_PAGE = "<html><head><title>Sign in</title></head><body><form>Proxy login</form></body></html>"


class OddHost:
    """One such server in a daemon thread; `paths` lists the path of every request it got."""

    def __init__(self, answer: Callable[[], Response], paths: tuple[str, ...] = CHAT_PATHS) -> None:
        self.paths: list[str] = []
        self._answer = answer
        app = Starlette(routes=[Route(path, self._chat, methods=["POST"]) for path in paths])
        self._socket = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    async def _chat(self, request: Request) -> Response:
        self.paths.append(request.url.path)
        await request.body()
        return self._answer()

    @contextmanager
    def running(self) -> Iterator[OddHost]:
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)
        try:
            yield self
        finally:
            self._server.should_exit = True
            self._thread.join(10)
            self._socket.close()


def trickling(interval: float = 0.3, lasting: float = 10.0) -> OddHost:
    """A host that sends 200 and JSON headers, then a space every `interval` seconds for `lasting` seconds."""

    async def spaces() -> AsyncIterator[bytes]:
        ends = time.monotonic() + lasting
        while time.monotonic() < ends:
            yield b" "
            await asyncio.sleep(interval)

    return OddHost(lambda: StreamingResponse(spaces(), media_type="application/json"))


def login_page() -> OddHost:
    """A host that answers every chat request 200 with a proxy's HTML login page."""
    return OddHost(lambda: HTMLResponse(LOGIN_PAGE))
