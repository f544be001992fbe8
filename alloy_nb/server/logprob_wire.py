"""Token log probabilities on the wire: the request fields, their bounds, and each API's shape.

Ollama puts ``logprobs: [{token, logprob, bytes, top_logprobs}]`` on every response line (each
streamed line carries its own tokens); the OpenAI-compatible API puts ``{"content": [...]}`` under
``choices[].logprobs``, where ``top_logprobs`` is always a list.
"""

from __future__ import annotations

from typing import Any

from alloy_nb.server.engine_events import TokenLogprob
from alloy_nb.server.wire import BadRequest

MAX_TOP_LOGPROBS = 20  # Ollama's and OpenAI's bound


def top_logprobs(value: int | None) -> int:
    """The number of alternatives asked for, 0 to MAX_TOP_LOGPROBS (a 400 otherwise, in Ollama's words)."""
    count = value or 0
    if not 0 <= count <= MAX_TOP_LOGPROBS:
        raise BadRequest(f"top_logprobs must be between 0 and {MAX_TOP_LOGPROBS}")
    return count


def ollama_logprobs(entries: tuple[TokenLogprob, ...] | list[TokenLogprob]) -> dict[str, Any]:
    """``{"logprobs": [...]}`` for an Ollama response line, or nothing when there are none."""
    if not entries:
        return {}
    return {"logprobs": [_ollama(entry) for entry in entries]}


def openai_logprobs(entries: tuple[TokenLogprob, ...] | list[TokenLogprob]) -> dict[str, Any]:
    """``{"logprobs": {"content": [...]}}`` for an OpenAI choice, or nothing when there are none."""
    if not entries:
        return {}
    content = [_openai(entry) | {"top_logprobs": [_openai(top) for top in entry.top]} for entry in entries]
    return {"logprobs": {"content": content}}


def _ollama(entry: TokenLogprob) -> dict[str, Any]:
    wire: dict[str, Any] = {"token": entry.token, "logprob": entry.logprob}
    if entry.bytes:
        wire["bytes"] = list(entry.bytes)
    if entry.top:
        wire["top_logprobs"] = [_ollama(top) for top in entry.top]
    return wire


def _openai(entry: TokenLogprob) -> dict[str, Any]:
    return {"token": entry.token, "logprob": entry.logprob, "bytes": list(entry.bytes)}
