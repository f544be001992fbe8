"""alloy_nb: typed, tool-using LLM calls against Ollama, pleasant and inspectable in Jupyter."""

from __future__ import annotations

from typing import Any

from .commands import Command, Traced, ask, command
from .config import Config, configure, reset_configuration, settings
from .errors import (
    AlloyError,
    CommandError,
    ConfigurationError,
    ModelNotFound,
    OllamaUnavailable,
    ServerError,
    ToolError,
    ToolLoopLimitExceeded,
)
from .local import LocalServer, start_local_server
from .tools import Tool, tool
from .trace import Trace, last_trace, recent_traces

__all__ = [
    "AlloyError",
    "Command",
    "CommandError",
    "LocalServer",
    "Config",
    "ConfigurationError",
    "ModelNotFound",
    "OllamaUnavailable",
    "ServerError",
    "Tool",
    "ToolError",
    "ToolLoopLimitExceeded",
    "Trace",
    "Traced",
    "ask",
    "command",
    "configure",
    "last_trace",
    "recent_traces",
    "reset_configuration",
    "settings",
    "start_local_server",
    "tool",
]
