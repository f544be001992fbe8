"""The conversation in the shape the GenAI conventions give `gen_ai.input.messages`,
`gen_ai.output.messages`, `gen_ai.tool.definitions` and a tool call's arguments: JSON text built from the trace's neutral
messages (never a wire body), so both strategies give the same spans.

Strings arrive already cut to the trace's limit (`trace_max_chars`): the JSON keeps its structure
however long the conversation. Images appear as their digest, never their data.

>>> from alloy_nb._messages import UserMessage
>>> input_messages([UserMessage(text="Hi")], [])
'[{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]'
>>> arguments_json('{"a": 2}')
'{"a": 2}'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .._images import ImageRecord
from .._messages import AssistantMessage, Message, SystemMessage, ToolCall, ToolResult
from .._trace import ResponseEvent

Part = dict[str, Any]


def input_messages(messages: Sequence[Message], images: Sequence[ImageRecord]) -> str:
    """A request's conversation, in order, as `gen_ai.input.messages`."""
    return _dumps([{"role": message.role, "parts": _parts(message, images)} for message in messages])


def output_messages(response: ResponseEvent) -> str:
    """A reply as `gen_ai.output.messages` (one choice)."""
    reply = AssistantMessage(text=response.text, thinking=response.thinking, tool_calls=tuple(response.tool_calls))
    message = {"role": "assistant", "parts": _parts(reply, ()), "finish_reason": finish_reason(response)}
    return _dumps([message])


def arguments_json(arguments: Any) -> str:
    """A tool call's arguments as a JSON object's text (a string that is not JSON stays a string)."""
    return _dumps(_arguments(arguments))


def tool_definitions(schemas: Sequence[dict[str, Any]]) -> str:
    """The call's tools (name, description, parameters) as `gen_ai.tool.definitions`."""
    return _dumps([{"type": "function", **schema} for schema in schemas])


def finish_reason(response: ResponseEvent) -> str:
    """The conventions' name for why a reply ended (`error`: a stream cut short)."""
    if response.tool_calls or response.done_reason == "tool_calls":
        return "tool_call"
    return response.done_reason or "error"


def _parts(message: Message, images: Sequence[ImageRecord]) -> list[Part]:
    if isinstance(message, SystemMessage):
        return [_text(message.text)]
    if isinstance(message, ToolResult):
        return [{"type": "tool_call_response", "id": message.call_id, "response": message.text}]
    if isinstance(message, AssistantMessage):
        parts = [{"type": "reasoning", "content": message.thinking}] if message.thinking else []
        parts += [_text(message.text)] if message.text else []
        return parts + [_tool_call(call) for call in message.tool_calls]
    shown = [images[index] for index in message.images if index < len(images)]
    return [_text(message.text), *(_image(record) for record in shown)]


def _text(text: str) -> Part:
    return {"type": "text", "content": text}


def _tool_call(call: ToolCall) -> Part:
    return {"type": "tool_call", "id": call.id, "name": call.name, "arguments": _arguments(call.arguments)}


def _image(record: ImageRecord) -> Part:
    return {"type": "image", "modality": "image", "mime_type": record.media_type, "sha256": record.sha256}


def _arguments(arguments: Any) -> Any:
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return arguments


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
