"""Pieces shared by both wire formats: tool definitions, ids, replies, dialects."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol, TypedDict, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alloy_nb._model_names import same_model
from alloy_nb.server.engine_events import EngineEvent, Finish, TokenLogprob, ToolCallOut
from alloy_nb.server.engines import ChatRequest, ModelCard, ToolSpec


class WireModel(BaseModel):
    """Base for request bodies: unknown fields are accepted and ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ToolSwitches(WireModel):
    """How tool calls may come back, on every chat endpoint: OpenAI's `parallel_tool_calls` (false: one
    call per reply; Ollama ignores it) and this server's `_tool_grammar` (false: no tool-call grammar)."""

    parallel_tool_calls: bool = True
    tool_grammar: bool = Field(True, alias="_tool_grammar")

    def switches(self) -> Switches:
        """The `ChatRequest` fields these set."""
        return Switches(parallel_tool_calls=self.parallel_tool_calls, tool_grammar=self.tool_grammar)


class Switches(TypedDict):
    parallel_tool_calls: bool
    tool_grammar: bool


def option_switches(options: dict[str, Any], switches: Switches) -> Switches:
    """The switches as a native request's `options` carry them (`parallel_tool_calls`, `tool_grammar`:
    the ollama SDK has no other place for them), taken out of `options`; they win over top-level ones.

    >>> options = {"temperature": 0, "tool_grammar": False}
    >>> option_switches(options, Switches(parallel_tool_calls=True, tool_grammar=True)), options
    ({'parallel_tool_calls': True, 'tool_grammar': False}, {'temperature': 0})
    """
    chosen = Switches(**switches)
    for name in ("parallel_tool_calls", "tool_grammar"):
        if name in options:
            value = options.pop(name)
            if not isinstance(value, bool):
                raise BadRequest(f"options.{name} must be true or false")
            chosen[name] = value
    return chosen


class FunctionSpec(WireModel):
    name: str
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)


class ToolDef(WireModel):
    """``{"type": "function", "function": {...}}``, the same on both APIs."""

    type: str = "function"
    function: FunctionSpec


class BadRequest(ValueError):
    """The request body is not what the endpoint accepts (HTTP 400, or 413 when too large)."""

    status = 400

    @classmethod
    def from_validation(cls, error: ValidationError) -> BadRequest:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors())
        return cls(f"invalid request body: {problems}")


class BodyTooLarge(BadRequest):
    """The request body is over the server's limit."""

    status = 413


@dataclass
class Reply:
    """A whole (non-streamed) reply, collected from the engine's events."""

    text: str = ""
    tool_calls: list[ToolCallOut] = field(default_factory=list)
    finish: Finish = field(default_factory=Finish)
    thinking: str = ""
    logprobs: list[TokenLogprob] = field(default_factory=list)


class StreamRenderer(Protocol):
    """Turns engine events into bytes of one streaming wire format."""

    def event(self, event: EngineEvent) -> bytes: ...

    def error(self, message: str) -> bytes: ...


class Dialect(Protocol):
    """One wire format: how to read a chat request and write replies and errors."""

    stream_media_type: str

    def parse(self, body: Any, path: str) -> ChatRequest: ...

    def error(self, status: int, message: str) -> dict[str, Any]: ...

    def reply(self, request: ChatRequest, reply: Reply, total_ns: int) -> dict[str, Any]: ...

    def renderer(self, request: ChatRequest, started_ns: int) -> StreamRenderer: ...

    def loaded(self, request: ChatRequest, done_reason: str) -> dict[str, Any] | None:
        """The answer to a request with nothing to reply to (no messages, no prompt), which only loads
        or unloads the model; None where the API has no such request."""
        ...


M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], body: Any) -> M:
    """Validate a JSON body, raising :class:`BadRequest` with a readable message."""
    if not isinstance(body, dict):
        raise BadRequest("invalid request body: expected a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise BadRequest.from_validation(error) from None


def tool_specs(tools: list[ToolDef] | None) -> list[ToolSpec]:
    return [ToolSpec(t.function.name, t.function.description or "", t.function.parameters) for t in tools or []]


MAX_MESSAGES = 10_000
"""Messages in one request at most (a chat's messages, a Responses input's items): more could never fit
a context window, and each costs the event loop time to read (a 64 MiB body of empty messages holds
two million)."""

MAX_STOP_SEQUENCES = 64
"""Stop sequences in one request at most: every token of every reply is checked against each."""


def stop_list(stop: Any) -> Any:
    """Ollama's ``stop`` is a list; a single string becomes a one-item list. More than
    `MAX_STOP_SEQUENCES` is a 400."""
    stops = [stop] if isinstance(stop, str) else stop
    if isinstance(stops, list) and len(stops) > MAX_STOP_SEQUENCES:
        raise BadRequest(
            f'invalid request body: "stop" holds {len(stops)} sequences; the limit is {MAX_STOP_SEQUENCES}'
        )
    return stops


def parse_arguments(text: str) -> dict[str, Any] | str:
    """Tool-call arguments as an object when ``text`` is a JSON object, else the raw text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict) else text


def arguments_text(arguments: dict[str, Any] | str) -> str:
    """Tool-call arguments as the JSON text OpenAI's APIs send; raw text stays as it is.

    >>> arguments_text({"city": "Paris"}), arguments_text("{oops")
    ('{"city":"Paris"}', '{oops')
    """
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))


def data_url_images(urls: list[str]) -> list[str]:
    """The base64 data of images given as data URLs (Ollama's OpenAI endpoints take no other)."""
    if any(not url.startswith("data:") or ";base64," not in url for url in urls):
        raise BadRequest("invalid image input: only base64 data URLs (data:image/...;base64,...) are supported")
    return [url.split(";base64,", 1)[1] for url in urls]


def call_id(call: ToolCallOut) -> str:
    return call.id or f"call_{secrets.token_hex(4)}"


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(6)}"


def timestamp() -> str:
    """Now, in RFC 3339 with a ``Z`` suffix, as Ollama writes ``created_at``."""
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def find_card(cards: list[ModelCard], name: str) -> ModelCard | None:
    return next((card for card in cards if same_model(card.name, name)), None)


def json_line(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
