"""The deterministic demo model that answers when no turn is scripted."""

from __future__ import annotations

import json
from typing import Any

from alloy_nb.server.engines import ChatRequest, EngineError
from alloy_nb.server.schema_example import example
from alloy_nb.server.turns import ScriptedToolCall, ScriptedTurn


def demo_turn(request: ChatRequest) -> ScriptedTurn:
    """Call the first tool, else fill the ``format`` schema, else echo the user.

    A tool is called only while the last message is not a tool result, so a
    tool loop ends after one round.
    """
    last_role = request.messages[-1].get("role") if request.messages else None
    if request.tools and last_role != "tool":
        tool = request.tools[0]
        return ScriptedTurn(tool_calls=[ScriptedToolCall(tool.name, _arguments(tool.parameters))])
    if isinstance(request.format, dict):
        return ScriptedTurn(text=json.dumps(_fill(request.format, "format")))
    if request.format == "json":
        return ScriptedTurn(text="{}")
    return ScriptedTurn(text=f"You said: {_last_user_text(request)}")


def _arguments(parameters: dict[str, Any]) -> dict[str, Any]:
    value = _fill(parameters, "tool parameters")
    return value if isinstance(value, dict) else {}


def _fill(schema: dict[str, Any], where: str) -> Any:
    """An instance of a schema from the request; a schema with malformed keywords is the client's error (400)."""
    try:
        return example(schema)
    except (TypeError, AttributeError, LookupError, ValueError, RecursionError) as error:
        raise EngineError(400, f"invalid JSON schema in {where}: {type(error).__name__}: {error}") from None


def _last_user_text(request: ChatRequest) -> str:
    for message in reversed(request.messages):
        if message.get("role") == "user":
            return str(message.get("content") or "")
    return ""
