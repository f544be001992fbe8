"""Test your alloy_nb code offline: a real Ollama-compatible server that answers from a script.

    from alloy_nb.testing import ScriptedTurn, ScriptedToolCall, scripted_server

    def test_my_notebook_code():
        with scripted_server() as server:
            server.script(ScriptedTurn(text='{"city": "Paris"}'))
            assert my_function() == ...          # calls alloy_nb.ask(...) as usual
            assert server.requests[0].path == "/api/chat"

Scripted turns are data: text or stream chunks, tool calls, delays, HTTP errors, a raw body, a
connection cut mid-reply. Unscripted requests get the demo model's answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from alloy_nb.server import ChatRequest, ScriptedToolCall

from .scripted import ScriptedEngine, ScriptedTurn
from .server import ServerThread

__all__ = ["ScriptedEngine", "ScriptedServer", "ScriptedToolCall", "ScriptedTurn", "ServerThread", "scripted_server"]


@dataclass(frozen=True)
class ScriptedServer:
    """A running server whose replies a test scripts as conversation turns."""

    url: str
    engine: ScriptedEngine

    def script(self, *turns: ScriptedTurn) -> None:
        self.engine.script(*turns)

    @property
    def requests(self) -> list[ChatRequest]:
        return self.engine.requests


@contextmanager
def scripted_server(*, point_alloy_nb_at_it: bool = True) -> Iterator[ScriptedServer]:
    """Start a scripted server on a free loopback port; alloy_nb's host points at it inside the block."""
    from alloy_nb.config import configure, configured, forget

    engine = ScriptedEngine()
    with ServerThread(engine) as thread:
        before = configured().get("host")
        if point_alloy_nb_at_it:
            configure(host=thread.url)
        try:
            yield ScriptedServer(url=thread.url, engine=engine)
        finally:
            if point_alloy_nb_at_it:
                if before is None:
                    forget("host")
                else:
                    configure(host=before)
