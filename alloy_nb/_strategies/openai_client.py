"""What both OpenAI-style strategies share: the `openai` SDK clients (no silent retries, no
redirects, every request body recorded), how the SDK's failures become alloy_nb's, and the
settings only Ollama's native API has."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Generator
from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar

import anyio
import openai

from .. import errors
from .._choices import Strategy
from .._client_cache import ClientCache
from .._config import Config, redact_host
from ..errors import AlloyError, ConfigurationError
from .base import Exchange, StreamChunk, Turn
from .capture import ASYNC_WIRE_HOOKS, WIRE_HOOKS, recording
from .deadline import deadline_transport
from .failures import connection_failed, translated
from .pool import client_key, leased_client

Reader = Callable[[Any], StreamChunk | None]  # one streamed event -> a chunk, or None


def reasoning_effort(think: bool | str) -> str:
    """The `think` setting as an OpenAI reasoning effort. A level goes as it is, "max" included: Ollama's
    /v1 APIs take it (and read OpenAI's "xhigh" as "max"), and the openai SDK's `ReasoningEffort` lists it.

    >>> reasoning_effort(True), reasoning_effort(False), reasoning_effort("high"), reasoning_effort("max")
    ('medium', 'none', 'high', 'max')
    """
    return think if isinstance(think, str) else ("medium" if think else "none")


def refuse_native_settings(config: Config, strategy: str) -> None:
    """Raise `ConfigurationError` for settings that exist only on Ollama's native API."""
    native_only = config.extra.get("ollama_options")
    if native_only:
        raise ConfigurationError(
            f"extra['ollama_options'] ({', '.join(native_only)}) only exist on Ollama's native API, and this "
            f"call uses {strategy} (model {config.model!r}). Remove them, or pass api='native'."
        )
    named = [name for name in ("context_length", "keep_alive") if getattr(config, name) is not None]
    if named:
        raise ConfigurationError(
            f"{' and '.join(named)} only exist{'s' if len(named) == 1 else ''} on Ollama's native API, and this "
            f"call uses {strategy} (model {config.model!r}). Remove {'it' if len(named) == 1 else 'them'}, "
            "or pass api='native'."
        )


class OpenAIStrategy(ABC):
    """The base of both OpenAI-style strategies: the clients of one config, the four ways a request
    goes out, and the translation of the SDK's exceptions into alloy_nb's. A subclass names its
    `path`, the SDK's type of a whole `reply` and its sync and async `streams` of events, and reads
    them with `turn` and a fresh `chunk_reader()` per stream."""

    name: Strategy
    path: ClassVar[str]
    reply: ClassVar[type]
    streams: ClassVar[tuple[type, type]]

    def __init__(self, config: Config) -> None:
        refuse_native_settings(config, self.name)
        self.config = config
        self.key = client_key(config)  # the config never changes, so neither does its client

    @abstractmethod
    def turn(self, reply: Any) -> Turn:
        """The neutral turn of a whole reply."""

    @abstractmethod
    def chunk_reader(self) -> Reader:
        """What turns each streamed event into a chunk (None: an event that only frames the reply)."""

    def send(self, request: dict[str, Any], exchange: Exchange) -> Turn:
        """POST a non-streamed request and read the reply, its failures translated."""
        with self._translated(exchange), recording(exchange):
            return self.turn(self._sync(whole_reply=True).post(self.path, body=request, cast_to=self.reply))

    async def send_async(self, request: dict[str, Any], exchange: Exchange) -> Turn:
        """`send` on the running event loop, the whole reply within the timeout (see deadline.py)."""
        async with self._translated(exchange), self._leased() as client:
            with recording(exchange), anyio.fail_after(self.config.timeout):
                return self.turn(await client.post(self.path, body=request, cast_to=self.reply))

    def stream(self, request: dict[str, Any], exchange: Exchange) -> Generator[StreamChunk, None, None]:
        """POST a streamed request and yield its chunks as the events are read."""
        read = self.chunk_reader()
        with self._translated(exchange):
            with recording(exchange):  # the request goes out here; the events come as they are read
                events: Any = self._sync(whole_reply=False).post(
                    self.path, body=request, cast_to=self.reply, stream=True, stream_cls=self.streams[0]
                )
            with events:
                for event in events:
                    if (piece := read(event)) is not None:
                        yield piece

    async def stream_async(self, request: dict[str, Any], exchange: Exchange) -> AsyncGenerator[StreamChunk, None]:
        """`stream` on the running event loop."""
        read = self.chunk_reader()
        async with self._translated(exchange), self._leased() as client:
            with recording(exchange):
                events: Any = await client.post(
                    self.path, body=request, cast_to=self.reply, stream=True, stream_cls=self.streams[1]
                )
            async with events:
                async for event in events:
                    if (piece := read(event)) is not None:
                        yield piece

    def _sync(self, *, whole_reply: bool) -> openai.OpenAI:
        return _clients.get(*self.key, whole_reply)

    def _leased(self) -> AbstractAsyncContextManager[openai.AsyncOpenAI]:
        """A pooled async client for the running event loop (both OpenAI strategies share it)."""
        return leased_client(("openai", *self.key), lambda: _async_client(self.config))

    def _translated(self, exchange: Exchange) -> translated:
        return translated(self.config, self._classify, exchange)

    def _classify(self, problem: BaseException) -> AlloyError | tuple[int, str] | None:
        """The openai SDK wraps transport failures and HTTP answers in its own exception types."""
        host = redact_host(self.config.host)
        if isinstance(problem, openai.APITimeoutError):
            return errors.timed_out(host, self.config.timeout)
        if isinstance(problem, openai.APIConnectionError):
            return connection_failed(host, problem)
        if isinstance(problem, openai.APIStatusError):
            return problem.status_code, _error_detail(problem)
        if isinstance(problem, openai.APIResponseValidationError):
            return errors.malformed_reply(host, problem)
        if isinstance(problem, openai.APIError):  # an error event in the middle of a streamed reply
            return errors.failed_mid_reply(host, problem.message)
        return None


def _new_client(host: str, timeout: float, headers: tuple[tuple[str, str], ...], whole_reply: bool) -> openai.OpenAI:
    """A client for one host, timeout and headers, without silent retries, recording every request body.
    With `whole_reply` (non-streamed calls), `timeout` bounds each reply in all, not only each read."""
    return openai.OpenAI(
        base_url=f"{host}/v1",
        api_key="ollama",
        timeout=timeout,
        max_retries=0,
        default_headers=dict(headers),
        http_client=openai.DefaultHttpxClient(
            follow_redirects=False,  # a redirect would resend the body and the headers elsewhere
            event_hooks=WIRE_HOOKS,
            transport=deadline_transport(timeout, client=openai.DefaultHttpxClient) if whole_reply else None,
        ),
    )


_clients = ClientCache(_new_client, size=16)  # two per host and settings: whole replies, streams


def _async_client(config: Config) -> openai.AsyncOpenAI:
    """A pooled async client without silent retries that records every request body (one per event loop)."""
    return openai.AsyncOpenAI(
        base_url=f"{config.base_url}/v1",
        api_key="ollama",
        timeout=config.timeout,
        max_retries=0,
        default_headers=config.request_headers,
        http_client=openai.DefaultAsyncHttpxClient(follow_redirects=False, event_hooks=ASYNC_WIRE_HOOKS),
    )


def _error_detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)
    return exc.message
