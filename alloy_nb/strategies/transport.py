"""Shared HTTP concerns of both strategies: capturing the bytes sent, and errors that say what to do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from ..config import Config, redact_host
from ..errors import ModelNotFound, OllamaUnavailable, ServerError


@dataclass
class SentRequest:
    """What an HTTP client put on the wire: the redacted URL and the JSON body (never headers)."""

    url: str
    body: Any


_sink: ContextVar[list[SentRequest] | None] = ContextVar("alloy_nb_wire_sink", default=None)


def _record(request: Any) -> None:
    sink = _sink.get()
    if sink is None:
        return
    try:
        body = json.loads(request.content) if request.content else None
    except (ValueError, UnicodeDecodeError):
        body = request.content.decode("utf-8", "replace")
    sink.append(SentRequest(redact_host(str(request.url)), body))


def record_request(request: Any) -> None:
    """httpx request event hook (sync clients)."""
    _record(request)


async def record_request_async(request: Any) -> None:
    """httpx request event hook (async clients)."""
    _record(request)


@contextmanager
def capturing() -> Iterator[list[SentRequest]]:
    """Collect the requests sent inside the block, in this thread or task only."""
    captured: list[SentRequest] = []
    token = _sink.set(captured)
    try:
        yield captured
    finally:
        _sink.reset(token)


def unavailable(config: Config) -> OllamaUnavailable:
    host = redact_host(config.host)
    return OllamaUnavailable(
        f"No Ollama server at {host}. Start `ollama serve`, or run `alloy-nb serve` "
        "(in a notebook: `%alloy serve`) for the embedded model; set OLLAMA_HOST if it runs elsewhere."
    )


def timed_out(config: Config) -> ServerError:
    return ServerError(
        f"The server at {redact_host(config.host)} did not answer within {config.timeout:g}s. "
        "The model may still be loading; retry, or raise the limit with configure(timeout=...)."
    )


def http_error(config: Config, status: int, detail: str) -> ServerError | ModelNotFound:
    """An HTTP error answer; a 404 naming the model becomes ModelNotFound listing what the host has."""
    if status == 404 and "not found" in detail.lower():
        return model_not_found(config)
    return ServerError(
        f"The server at {redact_host(config.host)} answered HTTP {status}: {detail[:500]}", status_code=status, body=detail
    )


def malformed_reply(config: Config, problem: BaseException) -> ServerError:
    return ServerError(
        f"The server at {redact_host(config.host)} sent a reply that is not the API's shape "
        f"({type(problem).__name__}: {str(problem)[:300]}). Is OLLAMA_HOST pointing at an Ollama server?"
    )


def model_not_found(config: Config) -> ModelNotFound:
    available = installed_models(config)
    listing = ", ".join(available) if available else "none"
    return ModelNotFound(
        f"Model {config.model_name!r} is not available at {redact_host(config.host)}. "
        f"Models there: {listing}. Pull it with `ollama pull {config.model_name}` "
        "or choose one of those with model='ollama:<name>'.",
        available=available,
    )


def installed_models(config: Config) -> list[str]:
    """Model names from the host's /api/tags, or [] when that cannot be read."""
    import httpx

    try:
        reply = httpx.get(f"{config.host}/api/tags", timeout=5.0)
        return sorted(m["name"] for m in reply.json().get("models", []))
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
        return []
