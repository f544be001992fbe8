"""How the app answers and logs what goes wrong: each route's error shape, at most one log line.

A client's mistake (a 4xx) is answered and not logged: the client has the message. A failure of the
server or its engine is logged as one line with the exception's type and message, never a
traceback: a request that fails the same way a thousand times must not write a thousand tracebacks
(one 2 KB body used to write 183 KB of them).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from alloy_nb.server.ollama_api import OllamaDialect
from alloy_nb.server.openai_api import OpenAIDialect
from alloy_nb.server.wire import Dialect

log = logging.getLogger("alloy_nb.server")

LOGGED_CHARS = 500  # of a failure's message in the log: one line, however long the message
Endpoint = Callable[[Request], Awaitable[Response]]


def dialect_for(path: str) -> Dialect:
    """The error shape of a path: OpenAI's under ``/v1/``, else Ollama's."""
    return OpenAIDialect() if path.startswith("/v1/") else OllamaDialect()


class ErrorShape(Protocol):
    """How a wire format writes an error: a chat `Dialect` or an embedding form."""

    def error(self, status: int, message: str) -> dict[str, Any]: ...


def error_response(shape: ErrorShape, status: int, message: str) -> JSONResponse:
    return JSONResponse(shape.error(status, message), status_code=status)


def describe(error: BaseException, what: str = "engine error") -> str:
    """``engine error: RuntimeError: boom``: what failed, the exception's type and message."""
    return f"{what}: {type(error).__name__}: {error}"


def log_failure(request: Request, message: str, when: str = "") -> None:
    """One log line for a request the server failed: ``POST /api/chat failed: <message>``."""
    text = " ".join(message.split())
    if len(text) > LOGGED_CHARS:
        text = text[:LOGGED_CHARS] + "…"
    log.error("%s %s failed%s: %s", request.method, request.url.path, when, text)


def answering_failures(endpoint: Endpoint) -> Endpoint:
    """`endpoint`, answering an unexpected exception with a 500 in the route's shape and one log line
    (Starlette's own handler would re-raise it for the server to log with its traceback)."""

    async def answer(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ClientDisconnect:  # the client went away while sending: nobody to answer, nothing to log
            return Response(status_code=400)
        except Exception as error:
            message = describe(error, "internal error")
            log_failure(request, message)
            return error_response(dialect_for(request.url.path), 500, message)

    return answer
