"""What every strategy provides to the loop: the protocol and the neutral turn it returns."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..config import Config, Strategy
from ..outputs import OutputSpec
from ..tools import Tool


@dataclass(frozen=True)
class ToolCall:
    """A tool call in neutral form; `arguments` stays raw (object or JSON string) until run."""

    id: str
    name: str
    arguments: Any


@dataclass
class Turn:
    """One model reply in neutral form."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    thinking: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    done_reason: str | None = None


@dataclass(frozen=True)
class StreamChunk:
    """A piece of streamed text; the last chunk has `done=True` and carries the counts."""

    text: str = ""
    done: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    done_reason: str | None = None


class ChatStrategy(Protocol):
    """One wire API. The loop builds requests with it, sends them and appends its messages."""

    name: Strategy
    endpoint: str

    def request(
        self, messages: list[dict[str, Any]], tools: list[Tool], output: OutputSpec, *, stream: bool
    ) -> dict[str, Any]:
        """The SDK call's keyword arguments for this conversation state."""

    def send(self, request: dict[str, Any]) -> Turn: ...

    async def send_async(self, request: dict[str, Any]) -> Turn: ...

    def stream(self, request: dict[str, Any]) -> Iterator[StreamChunk]: ...

    def stream_async(self, request: dict[str, Any]) -> AsyncIterator[StreamChunk]: ...

    def assistant_message(self, turn: Turn) -> dict[str, Any]:
        """The assistant reply as it goes back into the conversation on this wire."""

    def tool_result_message(self, call: ToolCall, content: str) -> dict[str, Any]:
        """A tool result in this wire's format (`tool_name` or `tool_call_id`)."""


_made: dict[int, tuple[Config, ChatStrategy]] = {}
_MADE_LIMIT = 64


def strategy_for(config: Config) -> ChatStrategy:
    """The strategy object that `config` routes to (SDKs are imported here, lazily).

    Strategies hold nothing but their config, so one is kept per config object (configs are
    immutable and `current()` hands out the same object for the same settings)."""
    made = _made.get(id(config))
    if made is not None and made[0] is config:
        return made[1]
    strategy = _make_strategy(config)
    if len(_made) >= _MADE_LIMIT:
        _made.clear()
    _made[id(config)] = (config, strategy)  # the config is kept alive, so its id is not reused meanwhile
    return strategy


def _make_strategy(config: Config) -> ChatStrategy:
    if config.strategy == "openai_chat":
        from .openai_chat import OpenAIChatStrategy

        return OpenAIChatStrategy(config)
    from .native import NativeStrategy

    return NativeStrategy(config)
