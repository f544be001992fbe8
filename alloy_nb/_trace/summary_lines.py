"""A trace as text, one line per event: what `print(trace)` and `%alloy log show` print."""

from __future__ import annotations

from .events import AnyEvent, RequestEvent, ResponseEvent, RetryEvent


def event_line(event: AnyEvent) -> str:
    """One event as a line: an arrow for its direction, its turn, and what it carried."""
    if isinstance(event, RetryEvent):
        what = "request" if event.scope == "request" else "call"
        return f"↻ {what} attempt {event.attempt} failed ({event.error.type}); again in {event.wait_s:.2f}s"
    if isinstance(event, RequestEvent):
        kind = "finalize request" if event.finalize else "request"
        messages = len(event.messages)
        return f"[{event.turn}] → {kind} {event.endpoint} ({messages} message{'' if messages == 1 else 's'})"
    if isinstance(event, ResponseEvent):
        calls = ", ".join(f"{c.name}({short(str(c.arguments), 60)})" for c in event.tool_calls)
        tokens = f"{event.usage.prompt_tokens or 0}+{event.usage.completion_tokens or 0} tok"
        body = f"tool calls: {calls}" if calls else short(repr(event.text), 80)
        return f"[{event.turn}] ← {body} · {tokens} · {event.duration_s:.2f}s"
    outcome = f"error: {short(event.error, 80)}" if event.error else short(repr(event.result), 80)
    return f"[{event.turn}] ⚙ {event.name} → {outcome} · {event.duration_s * 1000:.1f}ms"


def short(text: str | None, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
