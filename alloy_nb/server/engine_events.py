"""What an engine yields while it answers: pieces of text and thinking (with their tokens' log
probabilities, if asked), tool calls, and the finish with its counts and timings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TokenLogprob:
    """One reply token: its text, log probability and bytes, and (if asked) the likeliest tokens
    at its position, most likely first."""

    token: str
    logprob: float
    bytes: tuple[int, ...] = ()
    top: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True)
class TextDelta:
    """A piece of the reply's text, with the log probabilities of the tokens that spell it (if asked)."""

    text: str
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True)
class ThinkingDelta:
    """A piece of the model's reasoning, sent apart from the reply's text."""

    text: str


@dataclass(frozen=True)
class ToolCallOut:
    """A tool call; ``arguments`` as a str is the raw (possibly malformed) JSON text; ``pieces``, if
    any, are that text in the fragments a /v1 stream sends it in."""

    name: str
    arguments: dict[str, Any] | str
    id: str | None = None
    pieces: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToolCalls:
    """The tool calls of a reply, emitted together."""

    calls: list[ToolCallOut]


@dataclass(frozen=True)
class Finish:
    """End of a reply: why it stopped, token counts and timings in nanoseconds."""

    done_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    load_ns: int = 0
    prompt_eval_ns: int = 0
    eval_ns: int = 0
    cached_tokens: int = 0  # of prompt_tokens, how many were already in the model's memory


EngineEvent = TextDelta | ThinkingDelta | ToolCalls | Finish
