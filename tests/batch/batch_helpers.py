"""Responders for batch tests' scripted servers."""

from __future__ import annotations

from collections.abc import Callable

from alloy_nb.server import ChatRequest
from alloy_nb.testing import ScriptedTurn


def echo_after(delay: Callable[[str], float]) -> Callable[[ChatRequest], ScriptedTurn]:
    """A responder that answers `echo: <prompt>` after `delay(prompt)` seconds."""

    def respond(request: ChatRequest) -> ScriptedTurn:
        prompt = str(request.messages[-1].get("content"))
        return ScriptedTurn(text=f"echo: {prompt}", delay=delay(prompt))

    return respond
