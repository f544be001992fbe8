"""Traces for call log tests, built as the call loop builds them."""

from __future__ import annotations

from typing import Any

from alloy_nb._messages import SystemMessage, UserMessage
from alloy_nb._trace import RequestEvent, ResponseEvent, Trace, Usage


def make_trace(
    prompt: str = "What is the capital of France?",
    reply: str = "Paris is the capital.",
    *,
    model: str = "ollama:smollm2:135m",
    host: str = "http://127.0.0.1:11434",
    status: str = "ok",
    started_at: str | None = None,
    error: BaseException | None = None,
    result: Any = None,
    **fields: Any,
) -> Trace:
    """A finished native-API call: one request with a system and a user message, one reply."""
    trace = Trace(model=model, strategy="native", host=host, **fields)
    if started_at is not None:
        trace.started_at = started_at
    body = {
        "model": model,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": prompt}],
    }
    messages = [SystemMessage(text="Be brief."), UserMessage(text=prompt)]
    url = "http://127.0.0.1:11434/api/chat"
    trace.add(RequestEvent(turn=0, endpoint="POST /api/chat", url=url, messages=messages, body=body))
    trace.add(ResponseEvent(turn=0, text=reply, usage=Usage(prompt_tokens=12, completion_tokens=5), duration_s=0.2))
    if error is not None or status == "error":
        trace.finish("error", error=error or RuntimeError("boom"))
    else:
        trace.finish(status, reply if result is None else result)  # type: ignore[arg-type]
    return trace
