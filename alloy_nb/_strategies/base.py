"""What every strategy provides to the loop: the protocol, the neutral turn, and the exchange
(what went on the wire and what came back) that it fills in."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .._choices import Strategy
from .._images import Image
from .._messages import AssistantMessage, Message, ToolCall
from .._outputs import OutputSpec
from .._tools import Tool
from .._trace.events import TokenLogprob


@dataclass
class Turn:
    """One model reply in neutral form, with what the server said about it."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    thinking: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    done_reason: str | None = None
    generation_s: float | None = None  # the server's own time generating the reply (Ollama's eval_duration)
    tokens: list[TokenLogprob] | None = None  # each token's log probability, when asked for

    def __post_init__(self) -> None:
        _check_types(self, _TURN_FIELDS)
        for call in self.tool_calls:
            _check_types(call, _CALL_FIELDS)

    def message(self) -> AssistantMessage:
        """The reply as it goes back into the conversation."""
        return AssistantMessage(text=self.text, thinking=self.thinking, tool_calls=tuple(self.tool_calls))


_NONE = type(None)
_COUNT = (int, _NONE)
_TURN_FIELDS: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "thinking": (str, _NONE),
    "prompt_tokens": _COUNT,
    "completion_tokens": _COUNT,
    "done_reason": (str, _NONE),
    "generation_s": (int, float, _NONE),
}
_CALL_FIELDS: dict[str, tuple[type, ...]] = {"id": (str, _NONE), "name": (str,)}
_CHUNK_FIELDS = {**_TURN_FIELDS, "thinking": (str,)}
_PIECE_FIELDS: dict[str, tuple[type, ...]] = {
    "index": (int, _NONE),
    "id": (str, _NONE),
    "name": (str,),
    "arguments": (str, dict),
}


def _check_types(record: Any, fields: dict[str, tuple[type, ...]]) -> None:
    """Raise TypeError naming the first field of `record` that is not of its kinds: a server's reply,
    read by an SDK that does not check it (the openai SDK builds its objects unvalidated). The
    strategy reports the reply as malformed, before a value of the wrong kind goes any further."""
    for name, kinds in fields.items():
        value = getattr(record, name)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise TypeError(f"the reply's {name} is {type(value).__name__} {str(value)[:40]!r}")


@dataclass(frozen=True)
class SentRequest:
    """What the HTTP client put on the wire: the redacted URL, the JSON body and its size in bytes (never headers)."""

    url: str
    body: Any
    size: int


@dataclass
class Exchange:
    """One request as it went on the wire and the reply as received.

    The strategy fills it in as each happens, so a call that fails or is interrupted after sending
    still shows exactly what was sent. `reply` is the response body parsed as JSON (not for streams).
    """

    sent: SentRequest | None = None
    reply: Any = None
    reply_size: int | None = None


@dataclass(frozen=True)
class ToolCallPiece:
    """Part of a streamed tool call. OpenAI's API sends a call's `id` and `name` first, then its
    arguments as text fragments, each under the call's `index`; Ollama's native API sends each call
    whole (`index` None, `arguments` an object)."""

    index: int | None
    id: str | None = None
    name: str = ""
    arguments: str | dict[str, Any] = ""

    def __post_init__(self) -> None:
        _check_types(self, _PIECE_FIELDS)


@dataclass(frozen=True)
class StreamChunk:
    """A piece of streamed text, thinking or tool calls. The chunk that says why the reply stopped
    carries `done_reason`; the last has `done=True` and carries the counts."""

    text: str = ""
    thinking: str = ""
    tool_calls: tuple[ToolCallPiece, ...] = ()
    done: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    done_reason: str | None = None
    generation_s: float | None = None  # as on `Turn`, when the server says
    tokens: tuple[TokenLogprob, ...] = ()  # the log probabilities of the tokens this chunk carries

    def __post_init__(self) -> None:
        _check_types(self, _CHUNK_FIELDS)


@dataclass(frozen=True)
class Outgoing:
    """One request in neutral form: the conversation so far, the tools offered (none when finalizing),
    the output wanted, the call's images (user messages point into them) and whether to stream."""

    messages: Sequence[Message]
    tools: Sequence[Tool]
    output: OutputSpec
    stream: bool
    images: Sequence[Image] = ()


class ChatStrategy(Protocol):
    """One wire API. The loop builds requests with it, sends them and appends its messages."""

    name: Strategy
    endpoint: str

    def request(self, outgoing: Outgoing) -> dict[str, Any]:
        """The SDK call's keyword arguments for one request."""

    def send(self, request: dict[str, Any], exchange: Exchange) -> Turn:
        """Send one request and return the reply; `exchange` records the bytes both ways."""

    async def send_async(self, request: dict[str, Any], exchange: Exchange) -> Turn: ...

    def stream(self, request: dict[str, Any], exchange: Exchange) -> Generator[StreamChunk, None, None]:
        """Stream one request's reply; `exchange.sent` is filled when the request goes out."""

    def stream_async(self, request: dict[str, Any], exchange: Exchange) -> AsyncGenerator[StreamChunk, None]: ...
