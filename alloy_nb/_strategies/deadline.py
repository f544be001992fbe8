"""A deadline on a whole non-streamed reply for the synchronous clients of both SDKs.

httpx's `timeout` bounds each read, and every byte that arrives starts the next one afresh: a host
that trickles a byte now and then holds a call for as long as it likes. Async calls therefore run
under `anyio.fail_after(timeout)`. A blocking read cannot be cut short from outside, so the sync
clients of non-streamed calls get a `DeadlineTransport`: the reply's body it hands on gives up once
`timeout` has passed, at the latest one read's wait (the read timeout, `timeout` again) after it.
(Until the headers are in, a transport sees nothing to check; each read there is bounded as before.)
Streamed calls use clients without it and keep the per-read wait: a stream lasts while chunks come.

Wrapping the reply's stream (rather than reading it here and building a new response) costs
nothing measurable: within ±15 µs a call of the same client without it, native or openai, on a
loopback server.
"""

from __future__ import annotations

import functools
import importlib
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import httpx


class DeadlineTransport:
    """An httpx transport (for httpx's or httpx2's clients alike) that hands each request to `inner`
    and lets the reply's body be read only until `seconds` have passed since the request, else raises
    `httpx.ReadTimeout`: the ollama SDK passes it on, and the openai SDK reads it as a timeout
    (`APITimeoutError`) whichever httpx it uses."""

    def __init__(self, inner: Any, seconds: float) -> None:
        self._inner = inner
        self._seconds = seconds

    def handle_request(self, request: Any) -> Any:
        deadline = time.monotonic() + self._seconds
        response = self._inner.handle_request(request)
        library = type(response).__module__.partition(".")[0]  # httpx or httpx2
        response.stream = _deadline_stream_type(library)(response.stream, deadline, self._seconds)
        return response

    def close(self) -> None:
        self._inner.close()


class _ThroughClient:
    """A client as a transport: it routes each request by the environment's proxies."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def handle_request(self, request: Any) -> Any:
        return self._client.send(request, stream=True)

    def close(self) -> None:
        self._client.close()


def deadline_transport(
    seconds: float, *, client: Callable[..., Any], transport: Callable[[], Any] | None = None
) -> Any:  # typed as what the client takes: an httpx or an httpx2 transport
    """A `DeadlineTransport` sending through a new `transport()` when the environment names no proxy
    (then it is what a new `client()` would send through), else through a new `client()`."""
    if transport is not None and not urllib.request.getproxies():
        return DeadlineTransport(transport(), seconds)
    routed = client(follow_redirects=False)  # the outer client decides: it never follows one
    return DeadlineTransport(_ThroughClient(routed), seconds)


@functools.cache
def _deadline_stream_type(library: str) -> type:
    """A byte stream of a response's own library (httpx or httpx2: each reads only its own streams)
    that gives up once the deadline has passed, checked as each chunk arrives."""

    class DeadlineStream(importlib.import_module(library).SyncByteStream):  # type: ignore[misc]
        def __init__(self, chunks: Any, deadline: float, seconds: float) -> None:
            self._chunks = chunks
            self._deadline = deadline
            self._seconds = seconds

        def __iter__(self) -> Iterator[bytes]:
            for chunk in self._chunks:
                if time.monotonic() > self._deadline:
                    raise httpx.ReadTimeout(f"The reply took longer than {self._seconds:g}s in all.")
                yield chunk

        def close(self) -> None:
            self._chunks.close()  # a reply cut short closes its connection; a whole one goes back to the pool

    return DeadlineStream
