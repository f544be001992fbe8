"""Connection deadlines for the server: a client that connects and says nothing, or sends its request
a byte at a time, is disconnected instead of holding a connection forever.

uvicorn times out only idle keep-alive connections (after a response). `DeadlineProtocol` wraps its
HTTP protocol and follows the HTTP/1.1 framing of what the client sends: a request's headers must
be complete within `HEADERS_S` of its first byte (or of the connection opening) and hold at most
`MAX_HEADER_BYTES`, and its body may pause at most `BODY_IDLE_S` between pieces. While the server
works on a request (a long generation included) no deadline runs. Everything received is passed on
unchanged.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

HEADERS_S = 10.0
BODY_IDLE_S = 30.0
MAX_HEADER_BYTES = 1 << 20  # a request's headers, as Ollama's server allows; more closes the connection
_MAX_LINE_BYTES = 1 << 14  # a chunk-size line (extensions included) or a trailer line
_END_OF_HEADERS = b"\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"^content-length:[ \t]*(\d+)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
_CHUNKED = re.compile(rb"^transfer-encoding:[^\r\n]*chunked", re.IGNORECASE | re.MULTILINE)


class RequestFraming:
    """Where the client is in sending its current request: `waiting` (between requests), `headers`,
    `body`, `sent` (the server is answering), or `too_large` (headers or a chunk line past their
    limit: the connection is closed). `feed` takes the bytes as they arrive.

    A chunked body is followed chunk by chunk (sizes, extensions, the trailer), so no bytes inside a
    chunk can end it early and a valid last chunk always does."""

    def __init__(self) -> None:
        self.state = "headers"  # a new connection owes its first request
        self._head = bytearray()
        self._body_left = 0  # Content-Length bytes still due, or -1 for a chunked body
        self._chunk = "size"  # in a chunked body: a size line, chunk data (and its CRLF), or the trailer
        self._chunk_left = 0
        self._line = bytearray()

    def feed(self, data: bytes) -> None:
        while data and self.state != "too_large":
            if self.state in ("waiting", "sent"):
                self.state, self._head = "headers", bytearray()
            if self.state == "headers":
                data = self._headers(data)
            elif self.state == "body":
                data = self._body(data) if self._body_left >= 0 else self._chunked(data)

    def _headers(self, data: bytes) -> bytes:
        searched_to = max(0, len(self._head) - len(_END_OF_HEADERS) + 1)  # never search the same bytes twice
        self._head += data
        end = self._head.find(_END_OF_HEADERS, searched_to)
        if end < 0:
            if len(self._head) > MAX_HEADER_BYTES:
                self.state = "too_large"
            return b""
        head, rest = bytes(self._head[:end]), bytes(self._head[end + len(_END_OF_HEADERS) :])
        if end > MAX_HEADER_BYTES:
            self.state = "too_large"
            return b""
        length = _CONTENT_LENGTH.search(head)
        if _CHUNKED.search(head):
            self.state, self._body_left, self._chunk, self._line = "body", -1, "size", bytearray()
        elif length and int(length[1]) > 0:
            self.state, self._body_left = "body", int(length[1])
        else:
            self.state = "sent"
        self._head = bytearray()
        return rest

    def _body(self, data: bytes) -> bytes:
        taken, rest = data[: self._body_left], data[self._body_left :]
        self._body_left -= len(taken)
        if self._body_left == 0:
            self.state = "sent"
        return rest

    def _chunked(self, data: bytes) -> bytes:
        while data:
            if self._chunk == "data":
                taken = min(len(data), self._chunk_left)
                self._chunk_left -= taken
                data = data[taken:]
                if self._chunk_left == 0:
                    self._chunk = "size"
                continue
            end = data.find(b"\n")
            if end < 0:
                self._line += data
                if len(self._line) > _MAX_LINE_BYTES:
                    self.state = "too_large"
                return b""
            line = bytes(self._line + data[:end]).rstrip(b"\r")
            self._line, data = bytearray(), data[end + 1 :]
            if self._chunk == "trailer":
                if not line:  # the empty line after the trailer: the body is complete
                    self.state = "sent"
                    return data
                continue
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)  # the size, then any chunk extensions
            except ValueError:  # not HTTP: the server answers 400 and closes the connection itself
                self.state = "sent"
                return data
            if size == 0:
                self._chunk = "trailer"
            else:
                self._chunk, self._chunk_left = "data", size + 2  # the chunk's bytes, then its CRLF
        return b""


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
        if state == "too_large":
            self._too_slow()  # headers over the limit: hung up on, as if too slow
            return
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
