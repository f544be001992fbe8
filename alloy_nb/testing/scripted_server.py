"""`scripted_server()`: a scripted Ollama-compatible server on a free port, alloy_nb pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from alloy_nb.server import ChatRequest

from .scripted import ScriptedEngine, ScriptedTurn
from .server import ServerThread


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
def scripted_server(
    *, point_alloy_nb_at_it: bool = True, engine: ScriptedEngine | None = None
) -> Iterator[ScriptedServer]:
    """Start a scripted server on a free loopback port; alloy_nb's host points at it inside the block."""
    from alloy_nb._config import configure, configured, forget

    engine = engine or ScriptedEngine()
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
