"""What a strategy's HTTP client put on the wire and got back, for the exchange it returns.

The SDKs parse replies into their own types and never show the bytes, so each client gets httpx
event hooks (a public httpx feature) that hand the request and the response to the capture open
in the current thread or task. Only the strategies open one, around the SDK call they make.

Bodies are parsed with pydantic-core's `from_json`: about a quarter of `json.loads`' time on
a short chat reply, on every call's path; what it refuses goes to `json.loads`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import from_json

from .._config import redact_host
from .base import Exchange, SentRequest


@dataclass
class WireCapture:
    """The requests sent and the responses received inside one `recording()` block."""

    requests: list[SentRequest] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)

    def last_reply(self) -> tuple[Any, int | None]:
        """The body of the last complete response parsed as JSON, and its size in bytes ((None, None) without one)."""
        if not self.responses:
            return None, None
        try:
            content = self.responses[-1].content
        except Exception:  # a streamed response that was not read whole (httpx's and httpx2's ResponseNotRead)
            return None, None
        return parsed(content), len(content)


def parsed(content: bytes) -> Any:
    """A body as JSON data, else as text (invalid UTF-8 replaced).

    >>> parsed(b'{"a": [1, 2.5]}'), parsed(b"<html>"), parsed(b'\\xef\\xbb\\xbf{}')
    ({'a': [1, 2.5]}, '<html>', {})
    """
    try:
        return from_json(content)
    except ValueError:  # not JSON, or unusual JSON: nested very deep, a byte-order mark
        pass
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return content.decode("utf-8", "replace")


_open_capture: ContextVar[WireCapture | None] = ContextVar("alloy_nb_wire_capture", default=None)


class recording:
    """Fill `exchange` with what the block sends and receives (in this thread or task only), even
    when the block fails."""

    __slots__ = ("exchange", "token", "wire")

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.wire = WireCapture()

    def __enter__(self) -> None:
        self.token = _open_capture.set(self.wire)

    def __exit__(self, *failure: object) -> None:
        _open_capture.reset(self.token)
        if self.wire.requests:
            self.exchange.sent = self.wire.requests[-1]
        if self.wire.responses:
            self.exchange.reply, self.exchange.reply_size = self.wire.last_reply()


def _record(request: Any) -> None:
    capture = _open_capture.get()
    if capture is None:
        return
    body = parsed(request.content) if request.content else None
    capture.requests.append(SentRequest(redact_host(str(request.url)), body, len(request.content)))


def _keep(response: Any) -> None:
    capture = _open_capture.get()
    if capture is not None:
        capture.responses.append(response)


async def _record_async(request: Any) -> None:
    _record(request)


async def _keep_async(response: Any) -> None:
    _keep(response)


Hooks = dict[str, list[Callable[..., Any]]]
WIRE_HOOKS: Hooks = {"request": [_record], "response": [_keep]}
ASYNC_WIRE_HOOKS: Hooks = {"request": [_record_async], "response": [_keep_async]}
