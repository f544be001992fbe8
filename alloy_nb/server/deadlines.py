"""Connection deadlines for the server: a client that connects and says nothing, or sends its request
a byte at a time, is disconnected instead of holding a connection forever.

uvicorn times out only idle keep-alive connections (after a response). `DeadlineProtocol` wraps its
HTTP protocol and follows the HTTP/1.1 framing of what the client sends: a request's headers must
be complete within `HEADERS_S` of its first byte (or of the connection opening), and its body may
pause at most `BODY_IDLE_S` between pieces. While the server works on a request (a long generation
included) no deadline runs. Everything received is passed on unchanged.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

HEADERS_S = 10.0
BODY_IDLE_S = 30.0
_END_OF_HEADERS = b"\r\n\r\n"
_END_OF_CHUNKS = b"0\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"^content-length:[ \t]*(\d+)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
_CHUNKED = re.compile(rb"^transfer-encoding:[^\r\n]*chunked", re.IGNORECASE | re.MULTILINE)
_MAX_HEADER_BYTES = 1 << 16  # what we keep while looking for the end of the headers


class RequestFraming:
    """Where the client is in sending its current request: `waiting` (between requests), `headers`,
    `body`, or `sent` (the server is answering). `feed` takes the bytes as they arrive."""

    def __init__(self) -> None:
        self.state = "headers"  # a new connection owes its first request
        self._head = b""
        self._body_left = 0
        self._chunk_tail = b""

    def feed(self, data: bytes) -> None:
        while data:
            if self.state in ("waiting", "sent"):
                self.state, self._head = "headers", b""
            if self.state == "headers":
                data = self._headers(data)
            elif self.state == "body":
                data = self._body(data)

    def _headers(self, data: bytes) -> bytes:
        seen = self._head + data
        end = seen.find(_END_OF_HEADERS)
        if end < 0:
            self._head = seen[-_MAX_HEADER_BYTES:]
            return b""
        head, rest = seen[:end], seen[end + len(_END_OF_HEADERS) :]
        length = _CONTENT_LENGTH.search(head)
        if _CHUNKED.search(head):
            self.state, self._body_left, self._chunk_tail = "body", -1, b""
        elif length and int(length[1]) > 0:
            self.state, self._body_left = "body", int(length[1])
        else:
            self.state = "sent"
        self._head = b""
        return rest

    def _body(self, data: bytes) -> bytes:
        if self._body_left >= 0:  # Content-Length
            taken, rest = data[: self._body_left], data[self._body_left :]
            self._body_left -= len(taken)
            if self._body_left == 0:
                self.state = "sent"
            return rest
        seen = self._chunk_tail + data  # chunked: until the last chunk's marker
        end = seen.find(_END_OF_CHUNKS)
        if end < 0:
            self._chunk_tail = seen[-(len(_END_OF_CHUNKS) - 1) :]
            return b""
        self.state = "sent"
        return seen[end + len(_END_OF_CHUNKS) :]


class DeadlineProtocol(asyncio.Protocol):
    """uvicorn's HTTP protocol, with a deadline for headers and one for pauses in a body."""

    headers_s = HEADERS_S
    body_idle_s = BODY_IDLE_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.inner: asyncio.Protocol = AutoHTTPProtocol(*args, **kwargs)
        self.framing = RequestFraming()
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self.inner.connection_made(transport)
        self._arm(self.headers_s)

    def data_received(self, data: bytes) -> None:
        before = self.framing.state
        self.framing.feed(data)
        state = self.framing.state
        if state == "headers" and before != "headers":
            self._arm(self.headers_s)  # a new request has begun: its headers are due
        elif state == "body":
            self._arm(self.body_idle_s)  # each piece of the body restarts the pause allowed
        elif state == "sent":
            self._disarm()
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = asyncio.get_running_loop().call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self) -> None:
        self._timer = None
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()


def with_deadlines(headers_s: float = HEADERS_S, body_idle_s: float = BODY_IDLE_S) -> type[DeadlineProtocol]:
    """The protocol class for `uvicorn.Config(http=...)`, with these deadlines."""
    return type("DeadlineProtocol", (DeadlineProtocol,), {"headers_s": headers_s, "body_idle_s": body_idle_s})
