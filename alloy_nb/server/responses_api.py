"""OpenAI's Responses API as Ollama serves it: ``POST /v1/responses``, stateless (no ``previous_response_id``).

Input items (messages, function calls and their outputs, reasoning) become one neutral `ChatRequest`; the
reply's output is a reasoning item (if the model thought), then the function calls or one message, as
Ollama writes it; a stream is SSE events with increasing ``sequence_number``. Where Ollama leaves a gap
OpenAI's semantics hold: a reply cut by the token limit is ``incomplete`` (``max_output_tokens``).
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from alloy_nb.server import wire
from alloy_nb.server.engine_events import EngineEvent, Finish, TextDelta, ThinkingDelta, ToolCallOut
from alloy_nb.server.engines import ChatRequest, ToolSpec
from alloy_nb.server.openai_api import OpenAIWire

# Ollama's reading of `reasoning.effort`: "none" turns thinking off, OpenAI's extra levels map to its own.
EFFORTS: dict[str, bool | str] = {"none": False, "minimal": "low", "low": "low", "medium": "medium"}
EFFORTS |= {"high": "high", "xhigh": "max", "max": "max"}
_ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning")


class _Part(wire.WireModel):
    type: Literal["input_text", "output_text", "input_image", "input_file"]
    text: str = ""
    image_url: str | None = None


class _Message(wire.WireModel):
    role: Literal["user", "system", "developer", "assistant"]
    content: str | list[_Part] = ""


class _FunctionCall(wire.WireModel):
    call_id: str
    name: str
    arguments: str = ""


class _FunctionCallOutput(wire.WireModel):
    call_id: str
    output: str | list[_Part] = ""


class _Reasoning(wire.WireModel):
    summary: list[dict[str, Any]] = Field(default_factory=list)
    encrypted_content: str | None = None


def _item_type(item: Any) -> str | None:
    """An item's type; one with a ``role`` and no ``type`` is a message."""
    return (item.get("type") or ("message" if "role" in item else None)) if isinstance(item, dict) else None


_Item = Annotated[
    Annotated[_Message, Tag("message")]
    | Annotated[_FunctionCall, Tag("function_call")]
    | Annotated[_FunctionCallOutput, Tag("function_call_output")]
    | Annotated[_Reasoning, Tag("reasoning")],
    Discriminator(_item_type),
]


class _Tool(wire.WireModel):  # flat, not nested under "function" as on /v1/chat/completions
    type: Literal["function"]
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class _TextFormat(wire.WireModel):
    type: Literal["text", "json_schema", "json_object"]
    name: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class _Text(wire.WireModel):
    format: _TextFormat | None = None


class _ReasoningSetting(wire.WireModel):
    effort: str | None = None
    summary: str | None = None


class _Echoed(wire.ToolSwitches):
    """The fields a response repeats; others (``include``, ``store``, ``tool_choice``...) are ignored, as by Ollama."""

    model: str
    instructions: str | None = None
    max_output_tokens: int | None = None
    temperature: float = 1.0  # OpenAI's default, which Ollama applies too (top_p's it only reports)
    top_p: float | None = None
    reasoning: _ReasoningSetting | None = None
    text: _Text | None = None
    tools: list[_Tool] | None = None
    stream: bool = False


class _Body(_Echoed):
    input: str | Annotated[list[_Item], Field(max_length=wire.MAX_MESSAGES)] = ""


class ResponsesDialect(OpenAIWire):
    """``POST /v1/responses``: SSE events, OpenAI-shaped errors; ``tool_choice`` is ignored, as Ollama does."""

    def parse(self, body: Any, path: str) -> ChatRequest:
        _check_item_types(body)
        request = wire.validate(_Body, body)
        options = {"temperature": request.temperature, "top_p": request.top_p, "num_predict": request.max_output_tokens}
        return ChatRequest(
            model=request.model,
            messages=_neutral_messages(request),
            tools=[ToolSpec(t.name, t.description or "", t.parameters or {}) for t in request.tools or []],
            format=_format(request.text),
            options={name: value for name, value in options.items() if value is not None},
            stream=request.stream,
            think=_think(request.reasoning),
            **request.switches(),
            api="openai",
            path=path,
            body=body,
        )

    def reply(self, request: ChatRequest, reply: wire.Reply, total_ns: int) -> dict[str, Any]:
        output: list[dict[str, Any]] = []
        if reply.thinking:
            output.append(_reasoning_item(wire.new_id("rs_"), reply.thinking))
        # the text before tool calls is kept (Ollama drops it; a stream has sent it already, so the
        # whole reply and the streamed one end with the same items, as OpenAI's do)
        if reply.text or not reply.tool_calls:
            output.append(_message_item(wire.new_id("msg_"), reply.text, _status(reply.finish)))
        output += [_call_item(wire.new_id("fc_"), call, "completed") for call in reply.tool_calls]
        return _response(request, output, reply.finish, _status(reply.finish))

    def renderer(self, request: ChatRequest, started_ns: int) -> ResponsesStream:
        return ResponsesStream(request)


class ResponsesStream:
    """The SSE events of one response: ``response.created`` and ``response.in_progress``, each output item
    opened, filled by deltas and closed in turn, then ``response.completed`` (or ``response.incomplete``);
    a failure after the first byte ends the stream with ``response.failed`` (status and error set)."""

    def __init__(self, request: ChatRequest) -> None:
        self._request = request
        self._id, self._created_at = wire.new_id("resp_"), int(time.time())
        self._sequence, self._called = 0, False
        self._output: list[dict[str, Any]] = []  # the items closed so far
        self._open: Literal["reasoning", "message"] | None = None
        self._item_id = ""
        self._pieces: list[str] = []  # of the open item's text, joined once when it closes

    def event(self, event: EngineEvent) -> bytes:
        head = b"" if self._sequence else self._head()
        if isinstance(event, ThinkingDelta):
            return head + self._delta("reasoning", event.text)
        if isinstance(event, TextDelta):
            return head + self._delta("message", event.text)
        if isinstance(event, Finish):
            return head + self._finish(event)
        self._called = True
        return head + self._close() + b"".join(self._call(call) for call in event.calls)

    def error(self, message: str) -> bytes:
        head = b"" if self._sequence else self._head()
        failed = self._response("failed", None) | {"error": {"code": "server_error", "message": message}}
        return head + self._sse("response.failed", {"response": failed})

    def _head(self) -> bytes:
        started = {"response": self._response("in_progress", None)}
        return self._sse("response.created", started) + self._sse("response.in_progress", started)

    def _delta(self, kind: Literal["reasoning", "message"], text: str) -> bytes:
        if not text:  # (an engine may send an empty delta to carry log probabilities)
            return b""
        opened = b"" if self._open == kind else self._close() + self._start(kind)
        self._pieces.append(text)
        if kind == "reasoning":
            delta = {"summary_index": 0, "delta": text}
            return opened + self._sse("response.reasoning_summary_text.delta", self._where() | delta)
        delta = {"content_index": 0, "delta": text, "logprobs": []}
        return opened + self._sse("response.output_text.delta", self._where() | delta)

    def _start(self, kind: Literal["reasoning", "message"]) -> bytes:
        self._open, self._pieces = kind, []
        self._item_id = wire.new_id("rs_" if kind == "reasoning" else "msg_")
        if kind == "reasoning":
            return self._added({"id": self._item_id, "type": "reasoning", "summary": []})
        added = self._added(_message_item(self._item_id, "", "in_progress") | {"content": []})
        return added + self._sse("response.content_part.added", self._where() | _PART | {"part": _text_part("")})

    def _close(self, status: str = "completed") -> bytes:
        """Close the open reasoning or message item, if any."""
        if self._open is None:
            return b""
        kind, text, where = self._open, "".join(self._pieces), self._where()
        self._open = None
        if kind == "reasoning":
            item = _reasoning_item(self._item_id, text)
            done = self._sse("response.reasoning_summary_text.done", where | {"summary_index": 0, "text": text})
        else:
            item = _message_item(self._item_id, text, status)
            done = self._sse("response.output_text.done", where | _PART | {"text": text, "logprobs": []})
            done += self._sse("response.content_part.done", where | _PART | {"part": _text_part(text)})
        self._output.append(item)
        return done + self._sse("response.output_item.done", {"output_index": where["output_index"], "item": item})

    def _call(self, call: ToolCallOut) -> bytes:
        """A call as OpenAI streams it: the item with empty arguments, each piece of them, then the whole."""
        item = _call_item(wire.new_id("fc_"), call, "completed")
        where = {"item_id": item["id"], "output_index": len(self._output)}
        added = self._added(item | {"status": "in_progress", "arguments": ""})
        pieces = call.pieces or (item["arguments"],)
        deltas = [self._sse("response.function_call_arguments.delta", where | {"delta": p}) for p in pieces]
        done = self._sse("response.function_call_arguments.done", where | {"arguments": item["arguments"]})
        self._output.append(item)
        return added + b"".join(deltas) + done + self._sse("response.output_item.done", where | {"item": item})

    def _finish(self, finish: Finish) -> bytes:
        status, head = _status(finish), b""
        if not self._called and self._open != "message" and all(i["type"] != "message" for i in self._output):
            head = self._close() + self._start("message")  # a reply with no text still has its (empty) message
        head += self._close(status)
        return head + self._sse(f"response.{status}", {"response": self._response(status, finish)})

    def _added(self, item: dict[str, Any]) -> bytes:
        return self._sse("response.output_item.added", {"output_index": len(self._output), "item": item})

    def _where(self) -> dict[str, Any]:
        return {"item_id": self._item_id, "output_index": len(self._output)}

    def _response(self, status: str, finish: Finish | None) -> dict[str, Any]:
        """The response so far; `finish` None: not finished (no usage yet)."""
        body = _response(self._request, list(self._output), finish, status)
        return body | {"id": self._id, "created_at": self._created_at}

    def _sse(self, kind: str, data: dict[str, Any]) -> bytes:
        data = {"type": kind, "sequence_number": self._sequence} | data
        self._sequence += 1
        return f"event: {kind}\ndata: ".encode() + wire.json_line(data) + b"\n"


_PART = {"content_index": 0}  # a message's one content part
_NO_REASONING_TOKENS = {"output_tokens_details": {"reasoning_tokens": 0}}


def _check_item_types(body: Any) -> None:
    """Refuse an input item of a type this server does not read, naming it (a clearer 400 than the schema's)."""
    items = body.get("input") if isinstance(body, dict) else None
    for index, item in enumerate(items if isinstance(items, list) else []):
        kind = _item_type(item)
        if kind not in _ITEM_TYPES:
            given, expected = "none given" if kind is None else f"not {kind!r}", ", ".join(_ITEM_TYPES)
            raise wire.BadRequest(
                f"invalid request body: input[{index}]: unknown item type ({given}); expected {expected}"
            )


def _neutral_messages(request: _Body) -> list[dict[str, Any]]:
    """Neutral messages: `instructions` first as a system message; a function call joins the assistant message
    before it (or starts one); a reasoning item's text is the ``thinking`` of the next assistant message (none
    follows: dropped); a function call output is a tool message with ``tool_name`` from its call."""
    messages: list[dict[str, Any]] = []
    if request.instructions:
        messages.append({"role": "system", "content": request.instructions})
    if isinstance(request.input, str):
        return messages + ([{"role": "user", "content": request.input}] if request.input else [])
    names: dict[str, str] = {}
    thinking = ""
    for item in request.input:
        if isinstance(item, _Reasoning):
            thinking = item.encrypted_content or "".join(str(s.get("text", "")) for s in item.summary)
            continue
        if isinstance(item, _FunctionCallOutput):
            named = {"tool_name": names[item.call_id]} if item.call_id in names else {}
            messages.append(_with_content({"role": "tool", "tool_call_id": item.call_id} | named, item.output))
            continue
        if isinstance(item, _Message):
            role = "system" if item.role == "developer" else item.role
            messages.append(_with_content({"role": role}, item.content))
        else:
            names[item.call_id] = item.name
            call = {"id": item.call_id, "name": item.name, "arguments": wire.parse_arguments(item.arguments or "{}")}
            if not messages or messages[-1]["role"] != "assistant":
                messages.append({"role": "assistant", "content": ""})
            messages[-1].setdefault("tool_calls", []).append(call)
        if thinking and messages[-1]["role"] == "assistant":
            messages[-1]["thinking"], thinking = thinking, ""
    return messages


def _with_content(message: dict[str, Any], content: str | list[_Part]) -> dict[str, Any]:
    """`message` with the text of `content` and the base64 data of its images (data URLs only)."""
    if isinstance(content, str):
        return message | {"content": content}
    if any(part.type == "input_file" for part in content):
        raise wire.BadRequest("file inputs are not currently supported")
    images = wire.data_url_images([p.image_url for p in content if p.type == "input_image" and p.image_url])
    text = "".join(part.text for part in content if part.type in ("input_text", "output_text"))
    return message | {"content": text} | ({"images": images} if images else {})


def _think(reasoning: _ReasoningSetting | None) -> bool | str | None:
    effort = reasoning.effort if reasoning is not None else None
    if effort and effort not in EFFORTS:
        raise wire.BadRequest(f"invalid reasoning value: {effort!r} (must be one of {', '.join(EFFORTS)})")
    return EFFORTS[effort] if effort else None


def _format(text: _Text | None) -> dict[str, Any] | Literal["json"] | None:
    """``json_schema`` constrains the reply to its schema, ``json_object`` to any JSON object."""
    form = text.format if text is not None else None
    if form is None or form.type == "text":
        return None
    return form.schema_ if form.type == "json_schema" and form.schema_ else "json"


def _response(request: ChatRequest, output: list[dict[str, Any]], finish: Finish | None, status: str) -> dict[str, Any]:
    """The response object (`finish` None: under way, or failed), echoing the request's small fields."""
    echoed = _Echoed.model_validate(request.body)
    form = echoed.text.format if echoed.text is not None else None
    now = int(time.time())
    fields = {
        "created_at": now,
        "completed_at": now if finish is not None else None,
        "status": status,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "model": request.model,
        "instructions": echoed.instructions,
        "output": output,
        "tools": [tool.model_dump() for tool in echoed.tools or []],
        "text": {"format": form.model_dump(by_alias=True, exclude_none=True) if form else {"type": "text"}},
        "top_p": 1.0 if echoed.top_p is None else echoed.top_p,
        "temperature": echoed.temperature,
        "reasoning": echoed.reasoning.model_dump() if echoed.reasoning is not None else None,
        "usage": _usage(finish) if finish is not None else None,
        "max_output_tokens": echoed.max_output_tokens,
        "parallel_tool_calls": echoed.parallel_tool_calls,
    }
    return {"id": wire.new_id("resp_")} | _FIXED | fields


# What every response says here: nothing is stored, no state is kept, tool_choice and truncation are not applied.
_FIXED: dict[str, Any] = {"object": "response", "previous_response_id": None, "error": None, "tool_choice": "auto"}
_FIXED |= {"truncation": "disabled", "store": False, "background": False, "service_tier": "default", "metadata": {}}


def _status(finish: Finish) -> str:
    """A reply's status, and that of the message it ends: cut by the token limit, or done."""
    return "incomplete" if finish.done_reason == "length" else "completed"


def _usage(finish: Finish) -> dict[str, Any]:
    """Token counts; thinking is not counted apart from the reply (as Ollama, ``reasoning_tokens`` is 0)."""
    tokens = {"input_tokens": finish.prompt_tokens, "output_tokens": finish.completion_tokens}
    details = {"cached_tokens": finish.cached_tokens, "cache_write_tokens": 0}
    return tokens | {"total_tokens": sum(tokens.values()), "input_tokens_details": details} | _NO_REASONING_TOKENS


def _reasoning_item(item_id: str, thinking: str) -> dict[str, Any]:
    """The thinking itself is the ``encrypted_content`` (as Ollama's): passed back, the model reads it again."""
    summary = [{"type": "summary_text", "text": thinking}]
    return {"id": item_id, "type": "reasoning", "summary": summary, "encrypted_content": thinking}


def _message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": [_text_part(text)]}


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _call_item(item_id: str, call: ToolCallOut, status: str) -> dict[str, Any]:
    item = {"id": item_id, "type": "function_call", "status": status, "call_id": wire.call_id(call)}
    return item | {"name": call.name, "arguments": wire.arguments_text(call.arguments)}
