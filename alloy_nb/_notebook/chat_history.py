"""A chat panel's conversation as data: its exchanges, the history the next call sends, and the whole
conversation as one `Trace` to keep or share.

Each exchange is a call of its own (`ask.stream` with the earlier exchanges as `history`, as
`%%alloy --chat` sends them), so each has its own trace. `conversation_trace` puts them end to end:
every request, reply and tool run in order, the turns numbered on across exchanges and the times
packed, each exchange starting when the one before ended (the minutes the user spent typing are not
the model's). Only exchanges that ended with a reply are sent again as history; a failed or stopped one
stays in the trace.

`sent_history_note` says, under a `%%alloy --chat` reply, what history went with the prompt: a model
that answers as if it had none (the 135M model told "My name is Ada" later says it is Elara) was sent
it and did not use it, which the note says, and a first `--chat` cell sent none, which it says too.
"""

from __future__ import annotations

import dataclasses
import textwrap
from dataclasses import dataclass, field
from typing import Any

from .._trace import Trace
from .._trace.events import AnyEvent
from .._visible import visible

MAX_HISTORY = 10  # earlier exchanges sent as context, as %%alloy --chat's default


@dataclass
class Exchange:
    """One message and what came of it: the reply (None when the call failed or was stopped), the
    call's trace (None when it failed before it started) and the history sent before the message."""

    prompt: str
    reply: str | None
    trace: Trace | None
    history: list[dict[str, str]] = field(default_factory=list)


class ChatHistory:
    """The exchanges of one chat, oldest first."""

    def __init__(self, max_history: int = MAX_HISTORY) -> None:
        self.max_history = max_history
        self.exchanges: list[Exchange] = []

    def next_history(self) -> list[dict[str, str]]:
        """What the next call sends before its prompt: the last `max_history` exchanges that ended with a reply."""
        answered = [e for e in self.exchanges if e.reply is not None][-self.max_history :] if self.max_history else []
        messages: list[dict[str, str]] = []
        for exchange in answered:
            messages += [
                {"role": "user", "content": exchange.prompt},
                {"role": "assistant", "content": exchange.reply or ""},
            ]
        return messages

    def add(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)

    def clear(self) -> None:
        self.exchanges.clear()

    def last(self) -> Exchange | None:
        return self.exchanges[-1] if self.exchanges else None

    @property
    def traces(self) -> list[Trace]:
        """Each exchange's trace, in order (an exchange that failed before its call started has none)."""
        return [e.trace for e in self.exchanges if e.trace is not None]

    def trace(self) -> Trace | None:
        """The whole conversation as one trace (see `conversation_trace`); None before the first exchange."""
        return conversation_trace(self.traces)


def sent_history_note(history: list[dict[str, str]]) -> str:
    """What a `--chat` cell sent before its prompt, and what a reply that ignores it means.

    >>> print(sent_history_note([]))
    --chat sent no earlier exchange: this is the first --chat cell since the kernel started or %alloy reset (a cell without --chat is not remembered). This exchange goes with the next --chat cell.
    >>> print(sent_history_note([{"role": "user", "content": "I am Ada."}, {"role": "assistant", "content": "Hi Ada!"}]))
    --chat sent 1 earlier exchange (2 messages) before this prompt. A reply that ignores it had it and did not use it: small models often answer the last message alone. Repeat what matters in the prompt or in -s, or try a larger model; %alloy trace shows the request as sent.
      you:   I am Ada.
      model: Hi Ada!
    """
    if not history:
        return (
            "--chat sent no earlier exchange: this is the first --chat cell since the kernel started or %alloy "
            "reset (a cell without --chat is not remembered). This exchange goes with the next --chat cell."
        )
    count = len(history) // 2
    exchanges, them = ("1 earlier exchange", "it") if count == 1 else (f"{count} earlier exchanges", "them")
    lines = [
        f"--chat sent {exchanges} ({len(history)} messages) before this prompt. A reply that ignores {them} had "
        f"{them} and did not use {them}: small models often answer the last message alone. Repeat what matters in "
        "the prompt or in -s, or try a larger model; %alloy trace shows the request as sent."
    ]
    for message in history:
        who = "you:  " if message["role"] == "user" else "model:"
        shown = visible(textwrap.shorten(message["content"], 100, placeholder="…")) or "(empty)"
        lines.append(f"  {who} {shown}")  # a terminal shows controls from the model, never obeys them
    return "\n".join(lines)


def conversation_trace(traces: list[Trace]) -> Trace | None:
    """`traces` end to end as one: their events in order, turns numbered on, times packed; the model,
    strategy, host and outcome of the last; every tool any of them offered."""
    if not traces:
        return None
    first, last = traces[0], traces[-1]
    events: list[AnyEvent] = []
    turns, elapsed = 0, 0.0
    for trace in traces:
        events += [_shifted(event, turns, elapsed) for event in trace.events]
        turns += 1 + max((turn for e in trace.events if (turn := e.turn) is not None), default=-1)
        elapsed += trace.duration_s or 0.0
    schemas = {schema.get("name"): schema for trace in traces for schema in trace.tool_schemas}
    return Trace(
        started_at=first.started_at,
        model=last.model,
        strategy=last.strategy,
        host=last.host,
        output_type=last.output_type,
        request_settings=last.request_settings,
        tools=list(dict.fromkeys(name for trace in traces for name in trace.tools)),
        tool_schemas=list(schemas.values()),
        stream=True,
        warnings=list(dict.fromkeys(warning for trace in traces for warning in trace.warnings)),
        events=events,
        status=last.status,
        result=last.result,
        error=last.error,
        duration_s=round(elapsed, 6),
    )


def _shifted(event: AnyEvent, turns: int, seconds: float) -> AnyEvent:
    """A copy of `event` with its turn numbered on by `turns` and its time moved on by `seconds`."""
    changes: dict[str, Any] = {}
    if event.turn is not None:
        changes["turn"] = event.turn + turns
    if event.at_s is not None:
        changes["at_s"] = event.at_s + seconds
    return dataclasses.replace(event, **changes)
