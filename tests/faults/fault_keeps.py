"""What a fault's trace must keep: each check with the words the reliability report uses for it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from wire_shapes import conversation, tool_result_texts

from alloy_nb._trace import Trace
from alloy_nb.server import ChatRequest

PROMPT = "Tell me about faults."
CAP_NOTE = "more characters not kept in the trace"


@dataclass(frozen=True)
class Outcome:
    """What a check looks at: the call's trace (None when it failed before starting) and what the server got."""

    trace: Trace | None
    received: list[ChatRequest]


@dataclass(frozen=True)
class Keep:
    """One thing the trace must keep after the fault: how the report says it, and the check."""

    what: str
    check: Callable[[Outcome], bool]


def _trace(outcome: Outcome) -> Trace:
    assert outcome.trace is not None, "no trace"
    return outcome.trace


def _as_sent(outcome: Outcome) -> bool:
    trace = _trace(outcome)
    body = trace.requests[0].body if trace.requests else None
    if not isinstance(body, dict) or conversation(body, trace.strategy)[-1]["content"] != PROMPT:
        return False
    return not outcome.received or outcome.received[0].body == body


REQUEST = Keep("the request body as sent", _as_sent)
NOTHING_SENT = Keep("no trace: refused before any request", lambda o: o.trace is None and not o.received)
NO_REPLY = Keep("no reply (none invented)", lambda o: _trace(o).responses == [])


def partial_text(full: str) -> Keep:
    """The streamed text received before the fault: non-empty, and a strict prefix of the whole reply."""
    return Keep(
        "the partial text",
        lambda o: 0 < len(text := _trace(o).responses[-1].text) < len(full) and full.startswith(text),
    )


def reply_text(text: str) -> Keep:
    return Keep(f"the raw reply {text!r}", lambda o: _trace(o).responses[-1].text == text)


def error_mentions(fragment: str) -> Keep:
    return Keep(f"{fragment!r} in the recorded error", lambda o: fragment in getattr(_trace(o).error, "message", ""))


def tool_event(name: str, error: str) -> Keep:
    """A tool event for `name` whose error matches, and that error sent back to the model."""

    def check(outcome: Outcome) -> bool:
        errors = [e.error for e in _trace(outcome).tool_events if e.name == name and re.search(error, e.error or "")]
        trace = _trace(outcome)
        sent = [text for r in trace.requests[1:] for text in tool_result_texts(r.body, trace.strategy)]
        return bool(errors) and f"Error: {errors[0]}" in sent

    return Keep(f"the {name} tool event with its error", check)


def counts(requests: int, responses: int, tools: int) -> Keep:
    return Keep(
        f"{requests} requests, {responses} replies, {tools} tool events",
        lambda o: (
            (len(_trace(o).requests), len(_trace(o).responses), len(_trace(o).tool_events))
            == (requests, responses, tools)
        ),
    )


FINALIZE = Keep("the one finalize request", lambda o: [r.finalize for r in _trace(o).requests] == [False, True])
CUT_OFF = Keep("done_reason 'length' on the reply", lambda o: _trace(o).responses[-1].done_reason == "length")


def retried(times: int) -> Keep:
    """The request sent `times` more times after a transient fault, each retry recorded with its wait."""

    def check(outcome: Outcome) -> bool:
        retries = _trace(outcome).retries
        return (
            len(retries) == times
            and all(r.scope == "request" and r.wait_s > 0 for r in retries)
            and len(_trace(outcome).requests) == times + 1
        )

    return Keep("no retry" if times == 0 else f"{times} retr{'ies' if times > 1 else 'y'} of the request", check)
