"""The OpenAI-compatible wire format: ``/v1/chat/completions`` and ``/v1/models``."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import Field

from alloy_nb.server.engine_events import EngineEvent, Finish, TextDelta, ThinkingDelta, TokenLogprob, ToolCallOut
from alloy_nb.server.engines import ChatRequest, ModelCard
from alloy_nb.server.logprob_wire import openai_logprobs, top_logprobs
from alloy_nb.server.wire import (
    MAX_MESSAGES,
    Reply,
    ToolDef,
    ToolSwitches,
    WireModel,
    arguments_text,
    call_id,
    data_url_images,
    json_line,
    new_id,
    parse_arguments,
    stop_list,
    tool_specs,
    validate,
)

_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error"}
_FINGERPRINT = "fp_ollama"


class _FunctionCall(WireModel):
    name: str
    arguments: str = ""


class _ToolCall(WireModel):
    id: str | None = None
    type: str = "function"
    function: _FunctionCall


class _ImageUrl(WireModel):
    url: str


class _Part(WireModel):
    type: str
    text: str = ""
    image_url: _ImageUrl | None = None


class _Message(WireModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[_Part] | None = None
    tool_calls: list[_ToolCall] | None = None
    tool_call_id: str | None = None


class _JsonSchema(WireModel):
    name: str = "response"
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: bool | None = None


class _ResponseFormat(WireModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: _JsonSchema | None = None


class _StreamOptions(WireModel):
    include_usage: bool = False


class _ChatBody(ToolSwitches):
    model: str
    messages: list[_Message] = Field(max_length=MAX_MESSAGES)
    tools: list[ToolDef] | None = None
    tool_choice: str | dict[str, Any] | None = None
    stream: bool = False
    stream_options: _StreamOptions | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    response_format: _ResponseFormat | None = None
    reasoning_effort: str | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None


class OpenAIWire:
    """What the OpenAI-compatible endpoints share: SSE streaming, OpenAI-shaped errors, no load-only request."""

    stream_media_type = "text/event-stream"

    def error(self, status: int, message: str) -> dict[str, Any]:
        return error_body(status, message)

    def loaded(self, request: ChatRequest, done_reason: str) -> None:
        """None: these endpoints always generate."""


class OpenAIDialect(OpenAIWire):
    """``POST /v1/chat/completions``: SSE streaming, OpenAI-shaped errors.

    ``tool_choice`` is accepted and ignored, as Ollama does.
    """

    def parse(self, body: Any, path: str) -> ChatRequest:
        chat = validate(_ChatBody, body)
        return ChatRequest(
            model=chat.model,
            messages=_neutral_messages(chat.messages),
            tools=tool_specs(chat.tools),
            format=_format(chat.response_format),
            options=_options(chat),
            stream=chat.stream,
            think=_think(chat.reasoning_effort),
            logprobs=bool(chat.logprobs),
            top_logprobs=top_logprobs(chat.top_logprobs),
            **chat.switches(),
            api="openai",
            path=path,
            body=body,
        )

    def reply(self, request: ChatRequest, reply: Reply, total_ns: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.thinking:
            message["reasoning"] = reply.thinking  # the field Ollama's /v1 uses
        if reply.tool_calls:
            message["tool_calls"] = [_wire_call(call) for call in reply.tool_calls]
        reason = _finish_reason(bool(reply.tool_calls), reply.finish)
        choice = {"index": 0, "message": message, "finish_reason": reason} | openai_logprobs(reply.logprobs)
        return _envelope("chat.completion", request.model) | {
            "choices": [choice],
            "usage": _usage(reply.finish),
        }

    def renderer(self, request: ChatRequest, started_ns: int) -> OpenAIStream:
        options = request.body.get("stream_options") or {}
        return OpenAIStream(request.model, include_usage=bool(options.get("include_usage")))


class OpenAIStream:
    """SSE ``chat.completion.chunk`` events, then usage (if asked) and ``[DONE]``."""

    def __init__(self, model: str, include_usage: bool) -> None:
        self._envelope = _envelope("chat.completion.chunk", model)
        self._include_usage = include_usage
        self._started = False
        self._called_tools = False

    def event(self, event: EngineEvent) -> bytes:
        if isinstance(event, TextDelta):
            return self._chunk({"content": event.text}, event.logprobs)
        if isinstance(event, ThinkingDelta):
            return self._chunk({"reasoning": event.text})
        if isinstance(event, Finish):
            return self._finish(event)
        self._called_tools = True
        if any(call.pieces for call in event.calls):
            return b"".join(self._call_deltas(index, call) for index, call in enumerate(event.calls))
        calls = [{"index": i} | _wire_call(call) for i, call in enumerate(event.calls)]
        return self._chunk({"tool_calls": calls})

    def error(self, message: str) -> bytes:
        return _sse(error_body(500, message))

    def _finish(self, finish: Finish) -> bytes:
        head = b"" if self._started else self._chunk({"content": ""})
        reason = _finish_reason(self._called_tools, finish)
        tail = _sse(self._envelope | {"choices": [_choice({}, reason)]})
        if self._include_usage:
            tail += _sse(self._envelope | {"choices": [], "usage": _usage(finish)})
        return head + tail + b"data: [DONE]\n\n"

    def _call_deltas(self, index: int, call: ToolCallOut) -> bytes:
        """A call as OpenAI streams it: its id and name with empty arguments, then each piece of them."""
        head = {"index": index} | _wire_call(call)
        head["function"]["arguments"] = ""
        pieces = [{"index": index, "function": {"arguments": piece}} for piece in call.pieces]
        return b"".join(self._chunk({"tool_calls": [delta]}) for delta in [head, *pieces])

    def _chunk(self, delta: dict[str, Any], logprobs: tuple[TokenLogprob, ...] = ()) -> bytes:
        if not self._started:
            delta = {"role": "assistant"} | delta
            self._started = True
        return _sse(self._envelope | {"choices": [_choice(delta, None) | openai_logprobs(logprobs)]})


def error_body(status: int, message: str) -> dict[str, Any]:
    """OpenAI's error object; the type follows the status as Ollama's does."""
    kind = _ERROR_TYPES.get(status, "api_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _neutral_messages(messages: list[_Message]) -> list[dict[str, Any]]:
    """Neutral messages; tool results also get ``tool_name`` from the matching call."""
    names: dict[str, str] = {}
    neutral: list[dict[str, Any]] = []
    for message in messages:
        entry: dict[str, Any] = {
            "role": "system" if message.role == "developer" else message.role,
            "content": _text(message.content),
        }
        for call in message.tool_calls or []:
            names[call.id or ""] = call.function.name
            entry.setdefault("tool_calls", []).append(
                {
                    "id": call.id,
                    "name": call.function.name,
                    "arguments": parse_arguments(call.function.arguments),
                }
            )
        images = _images(message.content)
        if images:
            entry["images"] = images
        if message.tool_call_id is not None:
            entry["tool_call_id"] = message.tool_call_id
            if message.tool_call_id in names:
                entry["tool_name"] = names[message.tool_call_id]
        neutral.append(entry)
    return neutral


def _images(content: str | list[_Part] | None) -> list[str]:
    """The base64 data of `image_url` parts given as data URLs (Ollama's /v1 takes no other)."""
    if not isinstance(content, list):
        return []
    return data_url_images(
        [part.image_url.url for part in content if part.type == "image_url" and part.image_url is not None]
    )


def _think(effort: str | None) -> bool | str | None:
    """`reasoning_effort` as a thinking setting: "none" is off, a level stays a level."""
    if effort is None:
        return None
    return False if effort == "none" else effort


def _text(content: str | list[_Part] | None) -> str:
    if isinstance(content, list):
        return "".join(part.text for part in content if part.type == "text")
    return content or ""


def _format(response_format: _ResponseFormat | None) -> dict[str, Any] | Literal["json"] | None:
    if response_format is None or response_format.type == "text":
        return None
    schema = response_format.json_schema
    return schema.schema_ if schema is not None and schema.schema_ else "json"


def _options(chat: _ChatBody) -> dict[str, Any]:
    options = {
        "temperature": chat.temperature,
        "top_p": chat.top_p,
        "seed": chat.seed,
        "num_predict": chat.max_completion_tokens or chat.max_tokens,
        "stop": stop_list(chat.stop),
    }
    return {name: value for name, value in options.items() if value is not None}


def _wire_call(call: ToolCallOut) -> dict[str, Any]:
    function = {"name": call.name, "arguments": arguments_text(call.arguments)}
    return {"id": call_id(call), "type": "function", "function": function}


def _finish_reason(called_tools: bool, finish: Finish) -> str:
    """`tool_calls` for a reply that called tools, unless it stopped otherwise (a token limit says `length`)."""
    return "tool_calls" if called_tools and finish.done_reason == "stop" else finish.done_reason


def _usage(finish: Finish) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": finish.prompt_tokens,
        "completion_tokens": finish.completion_tokens,
        "total_tokens": finish.prompt_tokens + finish.completion_tokens,
    }
    if finish.cached_tokens:
        usage["prompt_tokens_details"] = {"cached_tokens": finish.cached_tokens}
    return usage


def _envelope(kind: str, model: str) -> dict[str, Any]:
    return {
        "id": new_id("chatcmpl-"),
        "object": kind,
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": _FINGERPRINT,
    }


def _choice(delta: dict[str, Any], reason: str | None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "finish_reason": reason}


def _sse(data: dict[str, Any]) -> bytes:
    return b"data: " + json_line(data) + b"\n"


def models(cards: list[ModelCard]) -> dict[str, Any]:
    """``GET /v1/models``."""
    data = [
        {"id": c.name, "object": "model", "created": int(c.modified_at.timestamp())} | {"owned_by": "library"}
        for c in cards
    ]
    return {"object": "list", "data": data}
