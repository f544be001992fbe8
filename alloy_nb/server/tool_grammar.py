"""Tool calling for models whose chat template has no tool section.

The tools are described in the system message, and the reply is constrained to one JSON
object: either `{"tool_calls": [{"name": <a declared tool>, "arguments": <its schema>}]}`
or `{"content": "<text>"}`. Earlier tool calls are rendered back in the same shape.

Tiny models tend to call the same tool again and again, so a tool that was already called
in the conversation is not offered again; once every tool has been called, the reply
must be text. A reply holds at most one call per offered tool (one in all when the request
says `parallel_tool_calls: false`), and an identical repeat is dropped. Chains of different
tools still work; parallel calls in one turn too.

Without the grammar (`_tool_grammar: false`) the instructions are the same, and the reply is
the model's own attempt: tool calls when it is a whole, valid envelope, else its text as written.

A reply cut by the token limit is read as far as it is complete: the whole calls before the
cut, or the text so far; the envelope itself never reaches the client.
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


def tool_reply_schema(tools: Sequence[ToolSpec], *, one_call: bool = False) -> dict[str, Any]:
    """JSON schema of a reply that calls declared tools with valid arguments (one call at most with
    `one_call`), or answers in text."""
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
                "properties": {
                    "tool_calls": {
                        "type": "array",
                        "items": {"anyOf": calls},
                        "minItems": 1,
                        "maxItems": 1 if one_call else len(calls),
                    }
                },
                "required": ["tool_calls"],
            },
            text_reply,
        ]
    }
    if defs:
        schema["$defs"] = defs
    return schema


def reply_grammar(request: ChatRequest, tools: Sequence[ToolSpec]) -> dict[str, Any] | None:
    """Which grammar constrains the reply to `request` (``{"kind": "tool_calls" | "format" | "json",
    "schema": ...}``; None: free text): the envelope calling `tools` when it offers tools (none when its
    `tool_grammar` is off), else its `format` schema, else any JSON for ``format: "json"``."""
    if request.tools:
        if not request.tool_grammar:
            return None
        return {"kind": "tool_calls", "schema": tool_reply_schema(tools, one_call=not request.parallel_tool_calls)}
    if isinstance(request.format, dict):
        return {"kind": "format", "schema": request.format}
    return {"kind": "json", "schema": None} if request.format == "json" else None


def tool_system_prompt(tools: Sequence[ToolSpec], *, one_call: bool = False) -> str:
    """The system-message text that tells the model its tools and the reply shape (with `one_call`:
    one call per reply, the next one built from the results so far)."""
    if not tools:
        return 'Answer the question using the tool results above, as {"content": "..."} with your answer in it.'
    listing = "\n".join(
        f"- {t.name}: {t.description or 'no description'} Arguments schema: {json.dumps(shown_schema(t.parameters))}"
        for t in tools
    )
    if one_call:
        how = (
            'Call one tool at a time: reply {"tool_calls": [{"name": "<tool>", "arguments": {...}}]} with one call. '
            "Its result comes back in the next message; use the tool results you have as the arguments of "
            "the next call. "
        )
    else:
        how = 'To call tools, reply {"tool_calls": [{"name": "<tool>", "arguments": {...}}]}. '
    return f'You can call these tools:\n{listing}\n{how}When a tool result answers the question, reply {{"content": "<your answer>"}}.'


_FIRST_KEYS = ("type", "$defs", "items", "required", "properties", "description", "enum")
_NOISE = ("title", "additionalProperties")  # what pydantic adds and Ollama's tool type has no field for


def shown_schema(schema: Any) -> Any:
    """A tool's arguments schema as the model reads it, the same whichever API brought it: keys in the
    order Ollama's own tool type writes them, without pydantic's titles and `additionalProperties`
    (the grammar still follows the whole schema). A 135M model answers differently to the same tool
    written in another key order, so /v1 tools (pydantic's order) and /api/chat tools read alike.

    >>> shown_schema({"additionalProperties": False, "properties": {"a": {"title": "A", "type": "number"}},
    ...               "required": ["a"], "type": "object"})
    {'type': 'object', 'required': ['a'], 'properties': {'a': {'type': 'number'}}}
    """
    if isinstance(schema, list):
        return [shown_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ordered = [key for key in _FIRST_KEYS if key in schema] + [key for key in schema if key not in _FIRST_KEYS]
    shown = {key: schema[key] for key in ordered if key not in _NOISE}
    for key in ("properties", "$defs"):
        if isinstance(shown.get(key), dict):
            shown[key] = {name: shown_schema(value) for name, value in shown[key].items()}
    for key in ("items", "anyOf", "oneOf", "allOf"):
        if key in shown:
            shown[key] = shown_schema(shown[key])
    return shown


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


_DECODER = json.JSONDecoder()
_LONGEST_ESCAPE = len("\\u0000")


def parse_tool_reply(text: str) -> tuple[list[dict[str, Any]], str]:
    """A grammar-constrained reply -> (tool calls, text); a reply cut short gives what is complete.

    >>> parse_tool_reply('{"tool_calls": [{"name": "a", "arguments": {}}, {"name": "a", "arguments": {}}]}')
    ([{'name': 'a', 'arguments': {}}], '')
    >>> parse_tool_reply('{"tool_calls": [{"name": "a", "arguments": {"x": 1}}, {"name": "b", "argu')
    ([{'name': 'a', 'arguments': {'x': 1}}], '')
    >>> parse_tool_reply('{"content": "Hello, wor')
    ([], 'Hello, wor')
    """
    try:
        reply = json.loads(text)
    except json.JSONDecodeError:
        return _complete_calls(text), _partial_content(text)
    if not isinstance(reply, dict):
        return [], ""
    calls = reply.get("tool_calls")
    if isinstance(calls, list):
        return _unique([c for c in calls if isinstance(c, dict)]), ""
    return [], str(reply.get("content", ""))


def parse_free_reply(text: str) -> tuple[list[dict[str, Any]], str]:
    """A reply written without the grammar -> (tool calls, text): the calls of a whole, valid envelope
    (`{"tool_calls": [{"name": ..., "arguments": {...}}, ...]}`), the text of `{"content": "..."}`,
    else the reply exactly as the model wrote it.

    >>> parse_free_reply(' {"tool_calls": [{"name": "a", "arguments": {"x": 1}}]} ')
    ([{'name': 'a', 'arguments': {'x': 1}}], '')
    >>> parse_free_reply('{"content": "4.40 euros"}')
    ([], '4.40 euros')
    >>> parse_free_reply('{"tool_calls": [{"name": "a"}]}')
    ([], '{"tool_calls": [{"name": "a"}]}')
    >>> parse_free_reply("I would call a(x=1).")
    ([], 'I would call a(x=1).')
    """
    try:
        reply = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return [], text
    if isinstance(reply, dict) and reply.keys() == {"tool_calls"}:
        calls = reply["tool_calls"]
        if isinstance(calls, list) and calls and all(_whole_call(call) for call in calls):
            return _unique(calls), ""
    if isinstance(reply, dict) and reply.keys() == {"content"} and isinstance(reply["content"], str):
        return [], reply["content"]
    return [], text


def _whole_call(call: Any) -> bool:
    return (
        isinstance(call, dict)
        and call.keys() == {"name", "arguments"}
        and isinstance(call["name"], str)
        and isinstance(call["arguments"], dict)
    )


def _unique(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    kept = []
    for call in calls:
        key = json.dumps(call, sort_keys=True)
        if key not in seen:
            seen.add(key)
            kept.append(call)
    return kept


def _complete_calls(text: str) -> list[dict[str, Any]]:
    """The calls that closed before the cut, in `{"tool_calls": [{...}, {...}, {...`."""
    start = text.find("[", text.find('"tool_calls"'))
    if '"tool_calls"' not in text or start < 0:
        return []
    calls: list[dict[str, Any]] = []
    position = start + 1
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        try:
            call, position = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError:
            return _unique(calls)
        if isinstance(call, dict):
            calls.append(call)


def _partial_content(text: str) -> str:
    """The text so far of a cut `{"content": "...`: decoded, dropping an escape cut in half."""
    key = text.find('"content"')
    opening = text.find('"', text.find(":", key) + 1) if key >= 0 else -1
    if key < 0 or opening < 0:
        return ""
    rest = text[opening + 1 :]
    for cut in range(min(_LONGEST_ESCAPE, len(rest)) + 1):
        try:
            decoded = json.loads(f'"{rest[: len(rest) - cut]}"')
        except json.JSONDecodeError:
            continue
        return str(decoded)
    return ""


def template_messages(request: ChatRequest, tools: Sequence[ToolSpec]) -> list[dict[str, str]]:
    """Neutral messages -> plain role/content messages a chat template renders: tool calls as the JSON
    envelope, tool results as text, and the tool instructions in the system message."""
    messages: list[dict[str, str]] = []
    for message in request.messages:
        content = message.get("content") or ""
        if message.get("tool_calls"):
            content = tool_turn_text(message["tool_calls"])
        elif message.get("role") == "tool":
            content = f"Result of {message.get('tool_name') or 'the tool'}: {content}"
        messages.append({"role": message.get("role", "user"), "content": content})
    if request.tools:
        instructions = tool_system_prompt(tools, one_call=not request.parallel_tool_calls)
        if messages and messages[0]["role"] == "system":
            messages[0] = {"role": "system", "content": messages[0]["content"] + "\n\n" + instructions}
        else:
            messages.insert(0, {"role": "system", "content": instructions})
    return messages
