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

from alloy_nb.server import ScriptedToolCall

from .cassettes import cassette, to_script
from .scripted import ScriptedEngine, ScriptedTurn
from .scripted_server import ScriptedServer, scripted_server
from .server import ServerThread

__all__ = [
    "ScriptedEngine",
    "ScriptedServer",
    "ScriptedToolCall",
    "ScriptedTurn",
    "ServerThread",
    "cassette",
    "scripted_server",
    "to_script",
]
