"""An Ollama-compatible HTTP server (native ``/api`` and OpenAI ``/v1``) with pluggable engines."""

from alloy_nb.server.app import create_app
from alloy_nb.server.engines import (
    ChatRequest,
    DropConnection,
    Engine,
    EngineError,
    Event,
    Finish,
    ModelCard,
    RawBody,
    TextDelta,
    ToolCallOut,
    ToolCalls,
    ToolSpec,
)
from alloy_nb.server.running import ServerThread
from alloy_nb.server.scripted import ScriptedEngine
from alloy_nb.server.turns import ScriptedToolCall, ScriptedTurn

__all__ = [
    "ChatRequest",
    "DropConnection",
    "Engine",
    "EngineError",
    "Event",
    "Finish",
    "ModelCard",
    "RawBody",
    "ScriptedEngine",
    "ScriptedToolCall",
    "ScriptedTurn",
    "ServerThread",
    "TextDelta",
    "ToolCallOut",
    "ToolCalls",
    "ToolSpec",
    "create_app",
]
