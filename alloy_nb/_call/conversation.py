"""The rules of one call as an I/O-free generator: model -> tool calls -> results -> model, then
validation and one optional finalize turn.

The generator yields *effects* (send this request, run these tool calls) and never does I/O;
the drivers carry them out, synchronously or on an event loop, whole (`drivers.py`) or streamed
(`stream_run.py`), so all of them share every rule by construction.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from .._config import Config
from .._images import Image
from .._messages import Message, SystemMessage, ToolCall, ToolResult, UserMessage
from .._outputs import OutputSpec
from .._strategies import ChatStrategy, Outgoing, Turn
from .._tools import Tool
from ..errors import CommandError, ToolLoopLimitExceeded


@dataclass(frozen=True)
class CallSpec:
    """Everything one call needs: the prompt, what comes back, the tools and the settings."""

    prompt: str
    output: OutputSpec
    tools: list[Tool] = field(default_factory=list)
    config: Config = field(default_factory=Config)
    history: list[Message] = field(default_factory=list)
    images: tuple[Image, ...] = ()

    def first_messages(self) -> list[Message]:
        """System prompt (with the output instruction), earlier exchanges, then the prompt (with its images;
        each strategy puts them on the wire its own way)."""
        system = [self.config.system] if self.config.system else []
        if not self.output.is_text:
            system.append(self.output.instruction)
        messages: list[Message] = [SystemMessage(text="\n\n".join(system))] if system else []
        prompt = UserMessage(text=self.prompt, images=tuple(range(len(self.images))))
        return [*messages, *self.history, prompt]

    def send(
        self, strategy: ChatStrategy, messages: list[Message], *, turn: int = 0, finalize: bool = False, stream: bool
    ) -> Send:
        """The request for this conversation state: with the call's tools, or none when finalizing."""
        sent = list(messages)
        tools = [] if finalize else self.tools
        body = strategy.request(Outgoing(sent, tools, self.output, stream, self.images))
        return Send(body, sent, turn, finalize, self.images)


@dataclass(frozen=True)
class Send:
    """Send this request: `messages` is the conversation it carries, in neutral form; `images` are
    the call's, so the trace can keep their base64 out."""

    request: dict[str, Any]
    messages: list[Message]
    turn: int = 0
    finalize: bool = False
    images: tuple[Image, ...] = ()


@dataclass(frozen=True)
class RunTools:
    calls: list[ToolCall]
    turn: int


Effect = Send | RunTools


def conversation(spec: CallSpec, strategy: ChatStrategy, *, stream: bool = False) -> Generator[Effect, Any, Any]:
    """The rules of a call, as a sequence of effects (requests for streamed replies with `stream`);
    returns the validated value."""
    messages = spec.first_messages()
    turn_number = 0
    while True:
        turn: Turn = yield spec.send(strategy, messages, turn=turn_number, stream=stream)
        messages.append(turn.message())
        if not turn.tool_calls:
            break
        cut = _cut_call(turn)
        if cut is not None:
            raise _cut_by_limit(cut, spec.config)
        if turn_number >= spec.config.max_tool_turns:
            raise _loop_limit(turn, spec.config.max_tool_turns)
        one_per_turn = spec.config.parallel_tool_calls is False  # a server may send several anyway
        limit = 1 if one_per_turn else spec.config.max_tool_calls
        ran: list[str] = yield RunTools(turn.tool_calls[:limit], turn_number)
        skipped = len(turn.tool_calls) - len(ran)  # every call still gets a result: the APIs expect one each
        results = [*ran, *[_NOT_RUN_ONE_PER_TURN if one_per_turn else _not_run(limit)] * skipped]
        messages.extend(
            ToolResult(call_id=c.id, name=c.name, text=r) for c, r in zip(turn.tool_calls, results, strict=True)
        )
        turn_number += 1
    try:
        return spec.output.parse(turn.text)
    except CommandError as exc:
        if not spec.config.auto_finalize_missing_output or turn.done_reason == "length":
            raise _unusable(exc, turn, spec.config, finalized=False) from None  # a cut reply: asking again cannot help
    messages.append(UserMessage(text="Now give your final answer. " + spec.output.instruction))
    final: Turn = yield spec.send(strategy, messages, turn=turn_number + 1, finalize=True, stream=stream)
    try:
        return spec.output.parse(final.text)
    except CommandError as exc:
        raise _unusable(exc, final, spec.config, finalized=True) from None


class Steps:
    """A conversation carried out one effect at a time: `next_effect(result)` hands the last effect's
    result in and returns the next effect, or None once the conversation has returned `value`.
    Used as a context manager, it closes the conversation however the block ends."""

    __slots__ = ("_steps", "ended", "value")

    def __init__(self, spec: CallSpec, strategy: ChatStrategy, *, stream: bool = False) -> None:
        self._steps = conversation(spec, strategy, stream=stream)
        self.value: Any = None
        self.ended = False

    def next_effect(self, result: Any) -> Effect | None:
        try:
            return self._steps.send(result)
        except StopIteration as done:
            self.value, self.ended = done.value, True
            return None

    def close(self) -> None:
        self._steps.close()

    def __enter__(self) -> Steps:
        return self

    def __exit__(self, *failure: object) -> None:
        self._steps.close()


def _loop_limit(turn: Turn, limit: int) -> ToolLoopLimitExceeded:
    names = ", ".join(call.name for call in turn.tool_calls)
    return ToolLoopLimitExceeded(
        f"Exceeded the tool-call turn limit (max_tool_turns={limit}): the model still asked for tools ({names}) "
        f"after {limit} tool turns. Raise max_tool_turns, or make the prompt say when to stop.",
        max_turns=limit,
        turns_taken=limit + 1,
        partial_text=turn.text,
    )


def _cut_call(turn: Turn) -> ToolCall | None:
    """The first tool call whose arguments the token limit cut short (incomplete JSON), if any."""
    if turn.done_reason != "length":
        return None
    for call in turn.tool_calls:
        if isinstance(call.arguments, str) and call.arguments.strip():
            try:
                json.loads(call.arguments)
            except ValueError:
                return call
            except RecursionError:  # complete but too deep: the tool runner reports it to the model
                continue
    return None


def _cut_by_limit(call: ToolCall, config: Config) -> CommandError:
    return CommandError(
        f"The reply was cut off by the token limit ({_token_limit(config)}) in the middle of a call to tool "
        f"{call.name!r}: its arguments are incomplete JSON, so no tool of that turn was run. Raise max_tokens.",
        raw_text=call.arguments,
    )


def _token_limit(config: Config) -> str:
    return f"max_tokens={config.max_tokens}" if config.max_tokens else "the server's default"


_NOT_RUN_ONE_PER_TURN = (
    "Error: not run; one tool call per turn (parallel_tool_calls=False). Call it again next turn if it is still needed."
)


def _not_run(limit: int) -> str:
    return f"Error: not run; at most {limit} tool calls run per turn. Ask again for what is still needed."


def _unusable(exc: CommandError, turn: Turn, config: Config, *, finalized: bool) -> CommandError:
    """The validation error of the last reply, with what to change (a reply cut by the token limit says so)."""
    if turn.done_reason == "length":
        limit = _token_limit(config)
        advice = f"The reply was cut off by the token limit ({limit}) before it was complete: raise max_tokens."
    elif finalized:
        advice = "A larger model or a simpler output type may follow the schema better."
    else:
        advice = "Turn auto_finalize_missing_output on to ask once more for the answer in the schema."
    prefix = "Even after one finalize turn: " if finalized else ""
    return CommandError(f"{prefix}{str(exc).rstrip('.')}. {advice}", raw_text=exc.raw_text)
