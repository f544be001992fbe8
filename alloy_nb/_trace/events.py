"""The events of a trace: each request as sent (neutral messages beside the wire body), each reply,
each tool run, each retry, as plain slotted records."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field

from .._messages import MESSAGE_TYPES, AssistantMessage, SystemMessage, ToolCall, ToolResult, UserMessage


@dataclass(slots=True, kw_only=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(slots=True, kw_only=True)
class TokenChoice:
    """A token the model could have written at a place, with its log probability."""

    token: str
    logprob: float

    @property
    def probability(self) -> float:
        """The log probability as a probability, 0 to 1 (see `probability`)."""
        return probability(self.logprob)


@dataclass(slots=True, kw_only=True)
class TokenLogprob:
    """A reply token as written, its log probability and the likeliest tokens at its place (most
    likely first; as many as `top_logprobs` asked for)."""

    token: str
    logprob: float
    alternatives: list[TokenChoice] = field(default_factory=list)

    @property
    def probability(self) -> float:
        return probability(self.logprob)


def probability(logprob: float) -> float:
    """A log probability as a probability, 0 to 1.

    >>> probability(0.0), round(probability(-0.6931), 3), probability(-1000.0)
    (1.0, 0.5, 0.0)
    """
    return math.exp(logprob) if logprob > -745 else 0.0  # exp underflows below about -745


NeutralMessage = Annotated[SystemMessage | UserMessage | AssistantMessage | ToolResult, Field(discriminator="role")]


@dataclass(slots=True, kw_only=True)
class RequestEvent:
    """A request: `messages` is the conversation it carried, in neutral form; `body` is the JSON the
    HTTP client put on the wire (no headers)."""

    kind: Literal["request"] = "request"
    turn: int
    endpoint: str
    url: str
    messages: list[NeutralMessage] = field(default_factory=list)
    body: Any = None
    finalize: bool = False
    attempt: int = 1  # which attempt of the call (see `retry`) this request belongs to
    at_s: float = 0.0


@dataclass(slots=True, kw_only=True)
class ResponseEvent:
    """A reply, parsed into text and tool calls, with its token counts and timings."""

    kind: Literal["response"] = "response"
    turn: int
    text: str = ""
    thinking: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    done_reason: str | None = None
    duration_s: float = 0.0
    generation_s: float | None = None  # the server's own time generating (Ollama's eval_duration), if it said
    ttft_s: float | None = None
    thinking_s: float | None = None  # streamed: from the first thinking piece to the first piece of the answer
    thinking_pieces: int | None = None  # streamed: thinking pieces received (Ollama sends about one token each)
    at_s: float | None = None  # when the reply was complete, seconds since the trace started (None: not recorded)
    tokens: list[TokenLogprob] | None = None  # each token with its log probability, when `logprobs` asked
    raw: Any = None


@dataclass(slots=True, kw_only=True)
class ToolEvent:
    """One tool execution: the arguments as received and either its result or its error."""

    kind: Literal["tool"] = "tool"
    turn: int
    call_id: str
    name: str
    arguments: Any = None
    result: str | None = None
    error: str | None = None
    contract: Literal["require", "ensure"] | None = None  # set when a tool contract failed
    duration_s: float = 0.0
    at_s: float | None = None  # when the run started, seconds since the trace started (None: not recorded)


@dataclass(slots=True, kw_only=True)
class ErrorInfo:
    type: str
    message: str


@dataclass(slots=True, kw_only=True)
class RetryEvent:
    """A failure that is tried again: one request (`scope="request"`, a transient fault) or the whole
    call (`scope="call"`, the `retry` setting), after waiting `wait_s`."""

    kind: Literal["retry"] = "retry"
    scope: Literal["request", "call"]
    attempt: int  # the attempt that failed, from 1
    turn: int | None = None
    error: ErrorInfo
    wait_s: float
    at_s: float = 0.0


RECORDS = (
    Usage,
    TokenChoice,
    TokenLogprob,
    RequestEvent,
    ResponseEvent,
    ToolEvent,
    ErrorInfo,
    RetryEvent,
    *MESSAGE_TYPES,
)

TraceEvent = Annotated[RequestEvent | ResponseEvent | ToolEvent | RetryEvent, Field(discriminator="kind")]
AnyEvent = RequestEvent | ResponseEvent | ToolEvent | RetryEvent
