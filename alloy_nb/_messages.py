"""The neutral record of a conversation: who said what, in no wire API's shape.

The call loop carries these; each strategy turns them into its wire format when it sends and
turns the reply back into an `AssistantMessage`; the trace keeps them beside the wire-exact
bodies, so everything above the strategies (replay, the call log, the views, history) reads one
shape. They are frozen and slotted: the loop builds a few per turn, and the trace shares them
instead of copying.

It sits at the bottom of the package (it imports nothing of alloy_nb) because both the
strategies and the trace, which rank below the loop, need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCall:
    """A tool call as the model asked for it; `arguments` stays raw (an object or a JSON string) until run."""

    id: str
    name: str
    arguments: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemMessage:
    """The system prompt as sent (a typed call's output instruction included)."""

    role: Literal["system"] = "system"
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserMessage:
    """A user turn; `images` are positions in the call's images (the trace keeps their digests)."""

    role: Literal["user"] = "user"
    text: str
    images: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AssistantMessage:
    """A model turn: its text, its thinking (never part of the text) and the tools it asked for."""

    role: Literal["assistant"] = "assistant"
    text: str = ""
    thinking: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolResult:
    """What a tool run gave back to the model, for the call it answers."""

    role: Literal["tool"] = "tool"
    call_id: str
    name: str
    text: str


Message = SystemMessage | UserMessage | AssistantMessage | ToolResult
MESSAGE_TYPES = (SystemMessage, UserMessage, AssistantMessage, ToolResult, ToolCall)


def history_message(role: str, text: str) -> Message:
    """An earlier exchange given as `{"role", "content"}` (roles as `ask(history=...)` takes them)."""
    if role == "system":
        return SystemMessage(text=text)
    if role == "assistant":
        return AssistantMessage(text=text)
    return UserMessage(text=text)


def prompt_of(messages: list[Message]) -> UserMessage | None:
    """The last user message: the prompt of a call's first request."""
    return next((m for m in reversed(messages) if isinstance(m, UserMessage)), None)
