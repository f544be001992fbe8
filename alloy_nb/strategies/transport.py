"""Shared HTTP concerns of both strategies: capturing the bytes sent and received, async clients
pooled per event loop, and errors that say what to do."""

from __future__ import annotations

import asyncio
import json
import socket
import weakref
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from ..config import Config, redact_host
from ..errors import ModelNotFound, OllamaUnavailable, ServerError

T = TypeVar("T")

# httpx and httpx2 (the openai SDK's fork) name these alike: the connection was made, then lost.
_LOST_MID_REPLY = ("RemoteProtocolError", "ReadError")


@dataclass
class SentRequest:
    """What an HTTP client put on the wire: the redacted URL, the JSON body and its size in bytes (never headers)."""

    url: str
    body: Any
    size: int


@dataclass
class WireCapture:
    """The requests sent and the responses received inside one `capturing()` block."""

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
        try:
            return json.loads(content), len(content)
        except (ValueError, UnicodeDecodeError):
            return content.decode("utf-8", "replace"), len(content)


_sink: ContextVar[WireCapture | None] = ContextVar("alloy_nb_wire_sink", default=None)


def _record(request: Any) -> None:
    sink = _sink.get()
    if sink is None:
        return
    try:
        body = json.loads(request.content) if request.content else None
    except (ValueError, UnicodeDecodeError):
        body = request.content.decode("utf-8", "replace")
    sink.requests.append(SentRequest(redact_host(str(request.url)), body, len(request.content)))


def _keep(response: Any) -> None:
    sink = _sink.get()
    if sink is not None:
        sink.responses.append(response)


def record_request(request: Any) -> None:
    """httpx request event hook (sync clients)."""
    _record(request)


async def record_request_async(request: Any) -> None:
    """httpx request event hook (async clients)."""
    _record(request)


def record_response(response: Any) -> None:
    """httpx response event hook (sync clients): its body is read once the SDK has it."""
    _keep(response)


async def record_response_async(response: Any) -> None:
    """httpx response event hook (async clients)."""
    _keep(response)


WIRE_HOOKS = {"request": [record_request], "response": [record_response]}
ASYNC_WIRE_HOOKS = {"request": [record_request_async], "response": [record_response_async]}


@contextmanager
def capturing() -> Iterator[WireCapture]:
    """Collect the requests sent and responses received inside the block, in this thread or task only."""
    captured = WireCapture()
    token = _sink.set(captured)
    try:
        yield captured
    finally:
        _sink.reset(token)


class ClientShards(Generic[T]):
    """Async clients for one host on one event loop, each lent to a few calls at a time.

    httpcore scans every connection of a pool whenever a request starts or ends, so one pool
    serving many concurrent calls costs CPU quadratic in their number; several small pools
    keep that cheap while every connection is still reused.
    """

    CALLS_PER_CLIENT = 8
    MAX_CLIENTS = 16

    def __init__(self, create: Callable[[], T]) -> None:
        self._create = create
        self._clients: list[T] = []
        self._busy: list[int] = []

    @asynccontextmanager
    async def lease(self) -> AsyncIterator[T]:
        """The least busy client, or a new one when all are busy and there is room."""
        index = min(range(len(self._clients)), key=self._busy.__getitem__, default=-1)
        if index < 0 or (self._busy[index] >= self.CALLS_PER_CLIENT and len(self._clients) < self.MAX_CLIENTS):
            self._clients.append(self._create())
            self._busy.append(0)
            index = len(self._clients) - 1
        self._busy[index] += 1
        try:
            yield self._clients[index]
        finally:
            self._busy[index] -= 1


_loop_shards: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, ClientShards[Any]]] = (
    weakref.WeakKeyDictionary()
)


def leased_client(key: Hashable, create: Callable[[], T]) -> AbstractAsyncContextManager[T]:
    """`async with leased_client(key, create) as client:` an async client for `key` on the running
    event loop. Clients are made once and reused across calls; a pool never crosses event loops."""
    loop = asyncio.get_running_loop()
    shards = _loop_shards.get(loop)  # (MutableMapping.setdefault is slow on a WeakKeyDictionary)
    if shards is None:
        shards = _loop_shards[loop] = {}
    if key not in shards:
        shards[key] = ClientShards(create)
    return shards[key].lease()


def client_key(config: Config) -> tuple[str, float, tuple[tuple[str, str], ...]]:
    """What makes two calls' HTTP clients interchangeable: host, timeout and headers."""
    return config.host, config.timeout, tuple(sorted(config.headers.items()))


def unavailable(config: Config) -> OllamaUnavailable:
    host = redact_host(config.host)
    return OllamaUnavailable(
        f"No Ollama server at {host}. Start `ollama serve`, or run `alloy-nb serve` "
        "(in a notebook: `%alloy serve`) for the embedded model; set OLLAMA_HOST if it runs elsewhere."
    )


def connection_failed(config: Config, problem: BaseException) -> OllamaUnavailable | ServerError:
    """A transport failure: the server hung up mid-reply, the host name does not resolve, or nothing listens."""
    causes = list(_causes(problem))
    host = redact_host(config.host)
    if any(type(cause).__name__ in _LOST_MID_REPLY for cause in causes):
        return ServerError(
            f"The server at {host} closed the connection before the reply was complete. "
            "Retry; if it keeps happening, check the server's log (it may have crashed or run out of memory)."
        )
    if any(isinstance(cause, socket.gaierror) for cause in causes):
        return OllamaUnavailable(
            f"The host name in {host} does not resolve. Check OLLAMA_HOST (or host=...) for a typo; "
            "for a server on this machine use http://127.0.0.1:11434."
        )
    return unavailable(config)


def _causes(problem: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = problem
    for _ in range(10):  # bounded: a cycle in __context__ must not hang error reporting
        if seen is None:
            return
        yield seen
        seen = seen.__cause__ or seen.__context__


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
        f"The server at {redact_host(config.host)} answered HTTP {status}: {one_line(detail, 500).rstrip('.')}. {_status_hint(status)}",
        status_code=status,
        body=detail,
    )


def _status_hint(status: int) -> str:
    if status == 503:
        return "It is busy or still loading the model; retry in a moment."
    if status >= 500:
        return "It failed while answering; retry, and check the server's log if this repeats."
    return "It refused the request; the call's trace has the request body exactly as sent."


def malformed_reply(config: Config, problem: BaseException) -> ServerError:
    return ServerError(
        f"The server at {redact_host(config.host)} sent a reply that is not the API's shape "
        f"({type(problem).__name__}: {one_line(problem, 300)}). Is OLLAMA_HOST pointing at an Ollama server?"
    )


def no_valid_chunks(config: Config) -> ServerError:
    return ServerError(
        f"The server at {redact_host(config.host)} sent no valid chunks: the stream ended without text or a final "
        "chunk. Is OLLAMA_HOST pointing at an Ollama server? Retry without streaming to see the raw reply."
    )


def one_line(problem: object, limit: int) -> str:
    """An error detail on one line (a validation error as its first problem), at most `limit` characters."""
    if isinstance(problem, ValidationError) and problem.errors():
        error = problem.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        problem = f"{where}: {error['msg']}"
    text = " ".join(str(problem).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
