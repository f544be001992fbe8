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
from typing import Any

from pydantic_core import from_json

from .._config import redact_host
from .base import Exchange, SentRequest


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


class recording:
    """Fill `exchange` with what the block sends and receives (in this thread or task only), even
    when the block fails: the last request as it went on the wire, and the last complete reply."""

    __slots__ = ("exchange", "response", "token")

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.response: Any = None

    def __enter__(self) -> None:
        self.token = _open_capture.set(self)

    def __exit__(self, *failure: object) -> None:
        _open_capture.reset(self.token)
        if self.response is not None:
            self.exchange.reply, self.exchange.reply_size = _whole_body(self.response)


_open_capture: ContextVar[recording | None] = ContextVar("alloy_nb_wire_capture", default=None)


def _whole_body(response: Any) -> tuple[Any, int | None]:
    """A response's body parsed as JSON, and its size in bytes; (None, None) for a stream not read whole."""
    try:
        content = response.content
    except Exception:  # a streamed response that was not read whole (httpx's and httpx2's ResponseNotRead)
        return None, None
    return parsed(content), len(content)


def _record(request: Any) -> None:
    capture = _open_capture.get()
    if capture is not None:
        content = request.content
        body = parsed(content) if content else None
        capture.exchange.sent = SentRequest(redact_host(str(request.url)), body, len(content))


def _keep(response: Any) -> None:
    capture = _open_capture.get()
    if capture is not None:
        capture.response = response


async def _record_async(request: Any) -> None:
    _record(request)


async def _keep_async(response: Any) -> None:
    _keep(response)


Hooks = dict[str, list[Callable[..., Any]]]
WIRE_HOOKS: Hooks = {"request": [_record], "response": [_keep]}
ASYNC_WIRE_HOOKS: Hooks = {"request": [_record_async], "response": [_keep_async]}
