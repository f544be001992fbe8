"""An Ollama-compatible HTTP server (native ``/api`` and OpenAI ``/v1``) with pluggable engines."""

from alloy_nb.server.app import create_app
from alloy_nb.server.demo import DemoEngine
from alloy_nb.server.engine_events import EngineEvent, Finish, TextDelta, ThinkingDelta, ToolCallOut, ToolCalls
from alloy_nb.server.engines import ChatRequest, Engine, EngineError, ModelCard, ToolSpec
from alloy_nb.server.running import bind, build_server
from alloy_nb.server.turns import ScriptedToolCall, TurnScript

__all__ = [
    "ChatRequest",
    "DemoEngine",
    "Engine",
    "EngineError",
    "EngineEvent",
    "Finish",
    "ModelCard",
    "ScriptedToolCall",
    "TextDelta",
    "ThinkingDelta",
    "ToolCallOut",
    "ToolCalls",
    "ToolSpec",
    "TurnScript",
    "bind",
    "build_server",
    "create_app",
]
