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


MAX_INPUT_CHARS = 1_000_000
"""One span's `gen_ai.input.messages` at most: each request's span holds the whole conversation so far,
so a long tool loop would repeat it span after span (an OTLP export over gRPC takes 4 MB by default)."""


def input_messages(messages: Sequence[Message], images: Sequence[ImageRecord]) -> str:
    """A request's conversation, in order, as `gen_ai.input.messages`. Beyond `MAX_INPUT_CHARS` the
    earliest messages give way to one saying how many were left out (a system prompt stays first)."""
    shown = [{"role": message.role, "parts": _parts(message, images)} for message in messages]
    text = _dumps(shown)
    if len(text) <= MAX_INPUT_CHARS:
        return text
    sizes = [len(_dumps(message)) + 2 for message in shown]  # with the ", " between them
    kept_first = 1 if shown[0]["role"] == "system" else 0
    total, start = sum(sizes) + 200, kept_first  # 200: room for the note
    while start < len(shown) - 1 and total > MAX_INPUT_CHARS:
        total -= sizes[start]
        start += 1
    note = _text(
        f"[{start - kept_first} earlier messages left out: the conversation was over {MAX_INPUT_CHARS:,} characters]"
    )
    return _dumps([*shown[:kept_first], {"role": "system", "parts": [note]}, *shown[start:]])


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
