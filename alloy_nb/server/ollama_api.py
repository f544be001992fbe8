"""Ollama's native wire format: ``/api/chat`` and the model listing endpoints."""

from __future__ import annotations

import re
from datetime import datetime
from time import perf_counter_ns
from typing import Any, Literal

from pydantic import Field

from alloy_nb.server.engine_events import EngineEvent, Finish, TextDelta, ThinkingDelta, ToolCallOut
from alloy_nb.server.engines import ChatRequest, ModelCard, Rendered
from alloy_nb.server.keep_alive import keep_alive
from alloy_nb.server.logprob_wire import ollama_logprobs, top_logprobs
from alloy_nb.server.wire import (
    MAX_MESSAGES,
    BadRequest,
    Reply,
    ToolDef,
    ToolSwitches,
    WireModel,
    call_id,
    iso,
    json_line,
    option_switches,
    parse_arguments,
    stop_list,
    timestamp,
    tool_specs,
    validate,
)


class _FunctionCall(WireModel):
    name: str
    arguments: dict[str, Any] | str = Field(default_factory=dict)


class _ToolCall(WireModel):
    id: str | None = None
    function: _FunctionCall


class _Message(WireModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: list[_ToolCall] | None = None
    tool_name: str | None = None
    tool_call_id: str | None = None
    images: list[str] | None = None


class GenerationFields(WireModel):
    """What /api/chat and /api/generate both take: the model, and how it generates and streams.
    (A null field reads as its empty value, as Ollama reads it.)"""

    model: str
    format: dict[str, Any] | Literal["", "json"] | None = None
    options: dict[str, Any] | None = None
    stream: bool = True
    think: bool | str | None = None
    keep_alive: float | str | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None


class _ChatBody(ToolSwitches, GenerationFields):
    messages: list[_Message] = Field(default_factory=list, max_length=MAX_MESSAGES)  # none: load the model
    tools: list[ToolDef] | None = None
    debug_render_only: bool = Field(False, alias="_debug_render_only")


class NativeWire:
    """What Ollama's native endpoints share: ndjson streaming, ``{"error": ...}`` errors."""

    stream_media_type = "application/x-ndjson"

    def error(self, status: int, message: str) -> dict[str, Any]:
        return {"error": message}


class NativeStream:
    """Base of the native streams: ndjson lines for one model, an ``{"error": ...}`` line on a failure."""

    def __init__(self, model: str, started_ns: int) -> None:
        self._model = model
        self._started_ns = started_ns

    def error(self, message: str) -> bytes:
        return json_line({"error": message})

    def _done(self, finish: Finish) -> dict[str, Any]:
        """The fields of the last line, timed from the request's start until now."""
        return done_fields(finish, perf_counter_ns() - self._started_ns)


def native_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of a native request's ``options``, its ``stop`` as a list."""
    copied = dict(options or {})
    if "stop" in copied:
        copied["stop"] = stop_list(copied["stop"])
    return copied


class OllamaDialect(NativeWire):
    """``POST /api/chat``: ndjson streaming, ``{"error": ...}`` errors."""

    def parse(self, body: Any, path: str) -> ChatRequest:
        chat = validate(_ChatBody, body)
        options = native_options(chat.options)
        switches = option_switches(options, chat.switches())
        return ChatRequest(
            model=chat.model,
            messages=[_neutral_message(m) for m in chat.messages],
            tools=tool_specs(chat.tools),
            format=chat.format or None,
            options=options,
            stream=chat.stream,
            think=chat.think,
            logprobs=bool(chat.logprobs),
            top_logprobs=top_logprobs(chat.top_logprobs),
            keep_alive=keep_alive(chat.keep_alive),
            render_only=chat.debug_render_only,
            **switches,
            api="ollama",
            path=path,
            body=body,
        )

    def reply(self, request: ChatRequest, reply: Reply, total_ns: int) -> dict[str, Any]:
        message = _assistant(reply.text, reply.tool_calls, reply.thinking)
        return _chunk(request.model, message) | ollama_logprobs(reply.logprobs) | done_fields(reply.finish, total_ns)

    def rendered(self, request: ChatRequest, rendered: Rendered) -> dict[str, Any]:
        """The answer to ``_debug_render_only``: an empty, unfinished message and ``_debug_info`` with
        the prompt text (Ollama's shape), plus the grammar that would constrain the reply."""
        info: dict[str, Any] = {"rendered_template": rendered.template}
        images = sum(len(message.get("images") or ()) for message in request.messages)
        if images:
            info["image_count"] = images
        if rendered.grammar is not None:
            info["grammar"] = rendered.grammar
        return _chunk(request.model, _assistant("", [])) | {"_debug_info": info}

    def renderer(self, request: ChatRequest, started_ns: int) -> OllamaStream:
        return OllamaStream(request.model, started_ns)

    def loaded(self, request: ChatRequest, done_reason: str) -> dict[str, Any]:
        return _chunk(request.model, _assistant("", [])) | {"done": True, "done_reason": done_reason}


class OllamaStream(NativeStream):
    """ndjson lines: content deltas, tool calls, then a ``done`` line with counts."""

    def event(self, event: EngineEvent) -> bytes:
        if isinstance(event, TextDelta):
            return json_line(_chunk(self._model, _assistant(event.text, [])) | ollama_logprobs(event.logprobs))
        if isinstance(event, ThinkingDelta):
            return json_line(_chunk(self._model, _assistant("", [], event.text)))
        if isinstance(event, Finish):
            return json_line(_chunk(self._model, _assistant("", [])) | self._done(event))
        return json_line(_chunk(self._model, _assistant("", event.calls)))


def _neutral_message(message: _Message) -> dict[str, Any]:
    neutral = message.model_dump(exclude_none=True, exclude={"tool_calls"})
    neutral["content"] = message.content or ""
    if message.tool_calls:
        neutral["tool_calls"] = [
            {"id": call.id, "name": call.function.name, "arguments": call.function.arguments}
            for call in message.tool_calls
        ]
    return neutral


def _assistant(text: str, calls: list[ToolCallOut], thinking: str = "") -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if thinking:
        message["thinking"] = thinking
    if calls:
        message["tool_calls"] = tool_calls_wire(calls)
    return message


def tool_calls_wire(calls: list[ToolCallOut]) -> list[dict[str, Any]]:
    """Tool calls as Ollama writes them, arguments as an object."""
    return [
        {"id": call_id(call), "function": {"index": index, "name": call.name, "arguments": _wire_arguments(call)}}
        for index, call in enumerate(calls)
    ]


def _wire_arguments(call: ToolCallOut) -> dict[str, Any] | str:
    """An object on this API; raw text that is not a JSON object is sent unchanged."""
    return call.arguments if isinstance(call.arguments, dict) else parse_arguments(call.arguments)


def _chunk(model: str, message: dict[str, Any]) -> dict[str, Any]:
    return {"model": model, "created_at": timestamp(), "message": message, "done": False}


def done_fields(finish: Finish, total_ns: int) -> dict[str, Any]:
    """The fields of the last line of a reply: why it stopped, counts and durations."""
    return {
        "done": True,
        "done_reason": finish.done_reason,
        "total_duration": max(total_ns, finish.load_ns + finish.prompt_eval_ns + finish.eval_ns),
        "load_duration": finish.load_ns,
        "prompt_eval_count": finish.prompt_tokens,
        "prompt_eval_duration": finish.prompt_eval_ns,
        "eval_count": finish.completion_tokens,
        "eval_duration": finish.eval_ns,
    }


def details(card: ModelCard) -> dict[str, Any]:
    return {
        "parent_model": "",
        "format": card.format,
        "family": card.family,
        "families": [card.family],
        "parameter_size": card.parameter_size,
        "quantization_level": card.quantization_level,
    }


def tags(cards: list[ModelCard]) -> dict[str, Any]:
    """``GET /api/tags``."""
    return {"models": [_listing(card) for card in cards]}


def _listing(card: ModelCard) -> dict[str, Any]:
    return {
        "name": card.name,
        "model": card.name,
        "modified_at": iso(card.modified_at),
        "size": card.size,
        "digest": card.digest,
        "details": details(card),
    }


def show(card: ModelCard) -> dict[str, Any]:
    """``POST /api/show``."""
    return {
        "modelfile": f"# Modelfile generated by alloy-nb\nFROM {card.name}\n"
        f'TEMPLATE """{card.template}"""\n{card.parameters}',
        "parameters": card.parameters,
        "template": card.template,
        "details": details(card),
        "model_info": {
            "general.architecture": card.family,
            "general.basename": card.name.partition(":")[0],
            f"{card.family}.context_length": card.context_length,
        },
        "capabilities": list(card.capabilities),
        "modified_at": iso(card.modified_at),
    } | ({"thinking": {"values": list(card.think_values), "default": card.think_default}} if card.think_values else {})


def ps(loaded: list[tuple[ModelCard, datetime, int]]) -> dict[str, Any]:
    """``GET /api/ps``: loaded models with the time each will be unloaded and the context each
    request gets."""
    return {
        "models": [
            _listing(card) | {"expires_at": iso(expires), "size_vram": 0, "context_length": context}
            for card, expires, context in loaded
        ]
    }


# Ollama's model names: [namespace/]name[:tag], letters, digits, `_`, `-`, `.`; a host part is not pulled here.
_MODEL_NAME = re.compile(r"(?:[A-Za-z0-9][\w.-]{0,79}/){0,2}[A-Za-z0-9][\w.-]{0,79}(?::[A-Za-z0-9_][\w.-]{0,127})?")


def pull_model_name(body: Any) -> str:
    """The model a ``/api/pull`` body names, if it is a valid Ollama model name (400 otherwise)."""
    name = show_model_name(body)
    if not _MODEL_NAME.fullmatch(name):
        raise BadRequest(f"invalid model name {name[:80]!r}: use [namespace/]name[:tag] with letters, digits, _ - .")
    return name


def show_model_name(body: Any) -> str:
    """The model named in a ``/api/show`` body (``model``, or the older ``name``)."""
    if isinstance(body, dict):
        name = body.get("model") or body.get("name")
        if isinstance(name, str) and name:
            return name
    raise BadRequest('invalid request body: expected {"model": "<name>"}')
