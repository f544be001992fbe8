"""SDK and transport exceptions turned into alloy_nb errors, shared by both strategies.

A strategy names how its SDK reports an HTTP status; everything else (timeouts, lost connections,
names that do not resolve, replies not in the API's shape, a missing model with the host's list)
is decided here, once. The missing-model listing is read without blocking on async paths.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import Callable, Iterator

import httpx
from pydantic import ValidationError

from .. import errors
from .._config import Config, authorization_scheme, redact_host
from .._host import Host, HostInfo
from ..errors import AlloyError, ModelNotFound
from .base import Exchange

# A strategy's own reading of an exception: an alloy_nb error, a (status, detail) HTTP answer, or None.
Classify = Callable[[BaseException], "AlloyError | tuple[int, str] | None"]


class translated:
    """Re-raise what the block raises as an alloy_nb error. Under `async with`, the missing-model
    listing is read in a thread, never blocking the event loop. What reading a reply of the wrong
    shape raises (`_SHAPE_ERRORS`) is the reply's fault only once `exchange` shows the request went
    out: before that it is the caller's or ours, and goes through as it is."""

    def __init__(self, config: Config, classify: Classify, exchange: Exchange) -> None:
        self.config = config
        self.classify = classify
        self.exchange = exchange

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, problem: BaseException | None, trace: object) -> None:
        error = self._error(problem)
        if isinstance(error, ModelNotFound):
            error = _missing_model(self.config, Host(self.config).info())
        if error is not None:
            raise error from None

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: object, problem: BaseException | None, trace: object) -> None:
        error = self._error(problem)
        if isinstance(error, ModelNotFound):
            error = _missing_model(self.config, await asyncio.to_thread(Host(self.config).info))
        if error is not None:
            raise error from None

    def _error(self, problem: BaseException | None) -> AlloyError | None:
        """The alloy_nb error for what the block raised; None to let it through as it is."""
        if problem is None or isinstance(problem, AlloyError) or not isinstance(problem, Exception):
            return None
        if isinstance(problem, _SHAPE_ERRORS) and self.exchange.sent is None:
            return None  # nothing was sent: no reply to blame (a setting the SDK cannot send, say)
        return _translate(self.config, self.classify, problem)


def _missing_model(config: Config, info: HostInfo) -> ModelNotFound:
    """The model is missing: say what the host has (from `info`, which never raises) and how to get it."""
    available = sorted(model.name for model in info.models)
    return errors.model_missing(
        config.model_name, redact_host(info.host), available, embedded=info.embedded, started_by=info.started_by
    )


def _translate(config: Config, classify: Classify, problem: Exception) -> AlloyError:
    host = redact_host(config.host)
    known = classify(problem)
    if isinstance(known, AlloyError):
        return known
    if known is not None:
        status, detail = known
        if status == 404 and "model" in detail.lower() and "not found" in detail.lower():
            return ModelNotFound(detail)  # the caller adds what the host has
        if status < 0:  # the ollama SDK's reading of an error line in the middle of a streamed reply
            return errors.failed_mid_reply(host, detail)
        credentials = authorization_scheme(config.request_headers.items())
        return errors.http_failure(host, status, detail, credentials=credentials)
    if isinstance(problem, json.JSONDecodeError):
        return errors.not_json(host, problem.doc)
    if isinstance(problem, (httpx.TimeoutException, TimeoutError)):  # TimeoutError: the async deadline
        return errors.timed_out(host, config.timeout)
    if isinstance(problem, (ConnectionError, httpx.TransportError)):
        return connection_failed(host, problem)
    if isinstance(problem, (httpx.HTTPError, ValueError, ValidationError, *_SHAPE_ERRORS)):
        return errors.malformed_reply(host, problem)
    raise problem


# What reading a reply of the wrong shape raises: the openai SDK builds its objects without checking
# them (a null `message`, a `choices` that is a string), and the ollama SDK reads a streamed line that is
# no object with `.get`; the neutral turn checks its own fields' kinds (`base._check_types`).
_SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError)


def connection_failed(host: str, problem: BaseException) -> AlloyError:
    """The server hung up mid-reply, the host name does not resolve, or nothing listens."""
    causes, lost = list(_causes(problem)), _lost_mid_reply()
    if any(isinstance(cause, lost) for cause in causes):
        return errors.lost_mid_reply(host)
    if any(isinstance(cause, socket.gaierror) for cause in causes):
        return errors.unresolvable_host(host)
    return errors.no_server(host)


def _lost_mid_reply() -> tuple[type[BaseException], ...]:
    """The errors of a connection made, then lost: httpx's, and httpx2's once loaded (newer openai SDKs
    use that fork of httpx; an error of it implies it is loaded, so it is never imported here)."""
    forks = [module for module in (httpx, sys.modules.get("httpx2")) if module is not None]
    return tuple(error for module in forks for error in (module.RemoteProtocolError, module.ReadError))


def _causes(problem: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = problem
    for _ in range(10):  # bounded: a cycle in __context__ must not hang error reporting
        if seen is None:
            return
        yield seen
        seen = seen.__cause__ or seen.__context__
