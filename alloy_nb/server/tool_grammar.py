"""Tool calling for models whose chat template has no tool section.

The tools are described in the system message, and the reply is constrained to one JSON
object: either `{"tool_calls": [{"name": <a declared tool>, "arguments": <its schema>}]}`
or `{"content": "<text>"}`. Earlier tool calls are rendered back in the same shape.

Tiny models tend to call the same tool again and again, so a tool that was already called
in the conversation is not offered again; once every tool has been called, the reply
must be text. Chains of different tools still work; parallel calls in one turn too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from alloy_nb.server.engines import ChatRequest, ToolSpec


def uncalled_tools(request: ChatRequest) -> list[ToolSpec]:
    """The declared tools that no earlier assistant turn of the conversation has called."""
    called = {call.get("name") for message in request.messages for call in message.get("tool_calls") or []}
    return [tool for tool in request.tools if tool.name not in called]


def tool_reply_schema(tools: Sequence[ToolSpec]) -> dict[str, Any]:
    """JSON schema of a reply that calls declared tools with valid arguments, or answers in text."""
    text_reply = {"type": "object", "properties": {"content": {"type": "string"}}, "required": ["content"]}
    if not tools:
        return text_reply
    defs: dict[str, Any] = {}
    calls = []
    for tool in tools:
        parameters = dict(tool.parameters or {"type": "object", "properties": {}})
        defs.update(parameters.pop("$defs", {}))
        calls.append(
            {
                "type": "object",
                "properties": {"name": {"const": tool.name}, "arguments": parameters},
                "required": ["name", "arguments"],
            }
        )
    schema: dict[str, Any] = {
        "anyOf": [
            {
                "type": "object",
                "properties": {"tool_calls": {"type": "array", "items": {"anyOf": calls}, "minItems": 1}},
                "required": ["tool_calls"],
            },
            text_reply,
        ]
    }
    if defs:
        schema["$defs"] = defs
    return schema


def tool_system_prompt(tools: Sequence[ToolSpec]) -> str:
    """The system-message text that tells the model its tools and the reply shape."""
    if not tools:
        return 'Answer the question using the tool results above. Reply {"content": "<your answer>"}.'
    listing = "\n".join(
        f"- {t.name}: {t.description or 'no description'} Arguments schema: {json.dumps(t.parameters)}" for t in tools
    )
    return (
        "You can call these tools:\n"
        f"{listing}\n"
        'To call tools, reply {"tool_calls": [{"name": "<tool>", "arguments": {...}}]}. '
        'When a tool result answers the question, reply {"content": "<your answer>"}.'
    )


def tool_turn_text(tool_calls: Sequence[dict[str, Any]]) -> str:
    """An earlier assistant tool-call turn, rendered as the model would have written it."""
    calls = []
    for call in tool_calls:
        arguments = call.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError:
                pass
        calls.append({"name": call.get("name", ""), "arguments": arguments})
    return json.dumps({"tool_calls": calls})
