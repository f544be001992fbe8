"""An Ollama-compatible HTTP server (native ``/api`` and OpenAI ``/v1``) with pluggable engines."""

from alloy_nb.server.app import create_app
from alloy_nb.server.demo import DemoEngine
from alloy_nb.server.engines import (
    ChatRequest,
    Engine,
    EngineError,
    Event,
    Finish,
    ModelCard,
    TextDelta,
    ThinkingDelta,
    ToolCallOut,
    ToolCalls,
    ToolSpec,
)
from alloy_nb.server.running import bind, build_server
from alloy_nb.server.turns import ScriptedToolCall, ScriptedTurn

__all__ = [
    "ChatRequest",
    "DemoEngine",
    "Engine",
    "EngineError",
    "Event",
    "Finish",
    "ModelCard",
    "ScriptedToolCall",
    "ScriptedTurn",
    "TextDelta",
    "ThinkingDelta",
    "ToolCallOut",
    "ToolCalls",
    "ToolSpec",
    "bind",
    "build_server",
    "create_app",
]
