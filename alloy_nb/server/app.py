"""``create_app``: the Ollama-compatible HTTP app around one engine.

Like Ollama, the app refuses browser-borne requests it should not serve: a foreign
``Host`` while it listens on loopback (DNS rebinding) and an ``Origin`` outside the
allowlist; allowed origins get CORS headers.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from datetime import datetime, timedelta, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from alloy_nb.server import ollama_api, openai_api
from alloy_nb.server.engines import (
    ChatRequest,
    Engine,
    EngineError,
    Event,
    Finish,
    ModelCard,
    TextDelta,
    ThinkingDelta,
    ToolCalls,
    refusal,
)
from alloy_nb.server.ollama_api import OllamaDialect
from alloy_nb.server.openai_api import OpenAIDialect
from alloy_nb.server.wire import BadRequest, BodyTooLarge, Dialect, Reply, StreamRenderer, find_card, json_line

log = logging.getLogger("alloy_nb.server")

KEEP_ALIVE = timedelta(minutes=5)


def create_app(engine: Engine, *, allow_any_host: bool = False, origins: Iterable[str] = ()) -> Starlette:
    """An app serving Ollama's native and OpenAI-compatible endpoints from ``engine``.

    Set ``allow_any_host`` when listening on a non-loopback address; otherwise a
    ``Host`` that is not a loopback name gets 403. Browser origins allowed besides
    the local ones: ``OLLAMA_ORIGINS`` and ``origins`` (comma-separated, ``*`` wildcards).
    """
    chat = _ChatHandler(engine)
    native, openai = OllamaDialect(), OpenAIDialect()

    async def native_chat(request: Request) -> Response:
        return await chat.handle(request, native)

    async def openai_chat(request: Request) -> Response:
        return await chat.handle(request, openai)

    async def tags(request: Request) -> Response:
        return JSONResponse(ollama_api.tags(engine.models()))

    async def show(request: Request) -> Response:
        try:
            name = ollama_api.show_model_name(await _json_body(request))
        except BadRequest as error:
            return JSONResponse({"error": str(error)}, status_code=error.status)
        card = find_card(engine.models(), name)
        if card is None:
            return JSONResponse({"error": f"model '{name}' not found"}, status_code=404)
        return JSONResponse(ollama_api.show(card))

    async def pull(request: Request) -> Response:
        try:
            body = await _json_body(request)
            name, stream = ollama_api.pull_model_name(body), _stream_flag(body)
        except BadRequest as error:
            return JSONResponse({"error": str(error)}, status_code=error.status)
        progress = engine.pull(name)
        try:
            first = await anext(progress)
            if not stream:
                return JSONResponse(await _last(first, progress))
        except EngineError as error:
            return JSONResponse({"error": error.message}, status_code=error.status)
        return _ClosingStream(_progress_lines(first, progress), media_type=OllamaDialect.stream_media_type)

    async def running(request: Request) -> Response:
        loaded = chat.loaded(engine.models())
        return JSONResponse(
            ollama_api.ps([(c, at, engine.loaded_context(c.name) or c.context_length) for c, at in loaded])
        )

    async def server_version(request: Request) -> Response:
        # Ollama answers {"version"} only; "server" lets clients tell the embedded server apart
        return JSONResponse({"version": _package_version(), "server": "alloy-nb"})

    async def openai_models(request: Request) -> Response:
        return JSONResponse(openai_api.models(engine.models()))

    async def root(request: Request) -> Response:
        return PlainTextResponse("Ollama is running")

    routes = [
        Route("/", root, methods=["GET", "HEAD"]),
        Route("/api/chat", native_chat, methods=["POST"]),
        Route("/api/tags", tags, methods=["GET", "HEAD"]),
        Route("/api/show", show, methods=["POST"]),
        Route("/api/pull", pull, methods=["POST"]),
        Route("/api/ps", running, methods=["GET"]),
        Route("/api/version", server_version, methods=["GET", "HEAD"]),
        Route("/v1/chat/completions", openai_chat, methods=["POST"]),
        Route("/v1/models", openai_models, methods=["GET"]),
    ]
    allowed = origin_pattern(origins)
    middleware = [
        Middleware(_Guard, allow_any_host=allow_any_host, origins=re.compile(allowed)),
        Middleware(CORSMiddleware, allow_origin_regex=allowed, allow_methods=CORS_METHODS, allow_headers=CORS_HEADERS),
    ]
    return Starlette(routes=routes, middleware=middleware, exception_handlers={Exception: _internal_error})


# --- Host and Origin guards ---------------------------------------------------------------

_LOCAL_ORIGINS = r"https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::\d+)?"
_APP_ORIGINS = r"(?:app|file|tauri|vscode-webview|vscode-file)://.*"

CORS_METHODS = ["GET", "HEAD", "POST", "OPTIONS"]
CORS_HEADERS = [
    "Authorization",
    "Content-Type",
    "User-Agent",
    "Accept",
    "X-Requested-With",
    # the openai SDKs' own headers (the ollama SDKs send only the ones above)
    "OpenAI-Beta",
    "OpenAI-Organization",
    "OpenAI-Project",
    "X-Stainless-Arch",
    "X-Stainless-Async",
    "X-Stainless-Custom-Poll-Interval",
    "X-Stainless-Helper-Method",
    "X-Stainless-Lang",
    "X-Stainless-OS",
    "X-Stainless-Package-Version",
    "X-Stainless-Poll-Helper",
    "X-Stainless-Read-Timeout",
    "X-Stainless-Retry-Count",
    "X-Stainless-Runtime",
    "X-Stainless-Runtime-Version",
    "X-Stainless-Stream-Helper",
    "X-Stainless-Timeout",
]


def origin_pattern(extra: Iterable[str] = ()) -> str:
    """A regex (for ``fullmatch``) of the origins allowed: local ones, ``OLLAMA_ORIGINS``, ``extra``."""
    texts = [os.environ.get("OLLAMA_ORIGINS", ""), *extra]
    entries = [entry.strip() for text in texts for entry in text.split(",")]
    wildcards = [_wildcard(entry) for entry in entries if entry]
    return "|".join(f"(?:{pattern})" for pattern in [_LOCAL_ORIGINS, _APP_ORIGINS, *wildcards])


def _wildcard(origin: str) -> str:
    """``https://*.example.com`` as a regex: ``*`` matches anything, the rest literally."""
    return ".*".join(re.escape(part) for part in origin.split("*"))


def _is_loopback_host(host: str) -> bool:
    """Whether a ``Host`` header (port optional) names this machine: a loopback name or address.

    Unspecified addresses (``0.0.0.0``) count too: clients reach loopback through them, and
    an address literal cannot be rebound by DNS.
    """
    name = _host_name(host.strip().lower())
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _host_name(host: str) -> str:
    """The name in a ``Host`` header, without brackets or port."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.partition(":")[0] if host.count(":") == 1 else host


class _Guard:
    """Answers 403, before CORS and routing, to a foreign ``Host`` (unless allowed) or ``Origin``.

    Web pages can make a browser call this server: the Host check stops DNS rebinding
    (evil.example resolving to 127.0.0.1), the Origin check stops other sites' pages.
    """

    def __init__(self, app: ASGIApp, *, allow_any_host: bool, origins: re.Pattern[str]) -> None:
        self._app = app
        self._allow_any_host = allow_any_host
        self._origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = self._problem(scope) if scope["type"] == "http" else None
        if problem is None:
            await self._app(scope, receive, send)
            return
        # shaped as a 400: OpenAI has no error type for 403, and the request is what is at fault
        body = _dialect_for(scope["path"]).error(400, problem)
        await JSONResponse(body, status_code=403)(scope, receive, send)

    def _problem(self, scope: Scope) -> str | None:
        headers = Headers(scope=scope)
        host, origin = headers.get("host"), headers.get("origin")
        if host is not None and not self._allow_any_host and not _is_loopback_host(host):
            return (
                f"Host header {host!r} refused: the server listens on loopback; "
                f"open it as {_loopback_url(scope)}, or start it with --host 0.0.0.0"
            )
        if origin is not None and not self._origins.fullmatch(origin):
            return f"Origin {origin!r} is not allowed; add it with OLLAMA_ORIGINS or --origins"
        return None


def _loopback_url(scope: Scope) -> str:
    """This server's own loopback URL, for the refusal message."""
    host, port = scope.get("server") or ("127.0.0.1", None)
    if not _is_loopback_host(host):
        host = "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}" if port is None else f"http://{host}:{port}"


class _ChatHandler:
    """Runs one chat request through the engine and answers in the request's dialect."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._expiry: dict[str, datetime] = {}

    def loaded(self, cards: list[ModelCard]) -> list[tuple[ModelCard, datetime]]:
        """Models used within the keep-alive window, with their expiry."""
        now = datetime.now(timezone.utc)
        return [(c, self._expiry[c.name]) for c in cards if self._expiry.get(c.name, now) > now]

    async def handle(self, request: Request, dialect: Dialect) -> Response:
        started = time.perf_counter_ns()
        try:
            chat = dialect.parse(await _json_body(request), request.url.path)
            chat.headers = dict(request.headers)
        except BadRequest as error:
            return _error(dialect, error.status, str(error))
        card = find_card(self._engine.models(), chat.model)
        refused = refusal(card, chat) if card is not None else None
        if refused is not None:
            return _error(dialect, 400, refused)
        events = self._engine.generate(chat)
        try:
            if chat.stream:
                first = await anext(events, Finish())
            else:
                reply = await _collect(events)
        except EngineError as error:
            return _error(dialect, error.status, error.message)
        except Exception as error:
            log.exception("engine failed on %s", chat.path)
            return _error(dialect, 500, _describe(error))
        self._expiry[chat.model] = datetime.now(timezone.utc) + KEEP_ALIVE
        if not chat.stream:
            return JSONResponse(dialect.reply(chat, reply, time.perf_counter_ns() - started))
        body = _stream(dialect.renderer(chat, started), first, events)
        return _ClosingStream(body, media_type=_media_type(dialect, chat))


class _ClosingStream(StreamingResponse):
    """A streaming response that always closes its body generator.

    On a client disconnect Starlette cancels the send loop; closing the
    generator (shielded, so async cleanup can await) lets the engine's
    ``finally`` blocks run at once instead of whenever it is collected.
    """

    def __init__(self, body: AsyncGenerator[bytes, None], media_type: str) -> None:
        super().__init__(body, media_type=media_type)
        self._body = body

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        finally:
            with anyio.CancelScope(shield=True):
                await self._body.aclose()


async def _stream(
    renderer: StreamRenderer, first: Event, events: AsyncGenerator[Event, None]
) -> AsyncGenerator[bytes, None]:
    """Render events; engine errors after the first byte become an error line."""
    try:
        yield renderer.event(first)
        if isinstance(first, Finish):
            return
        async for event in events:
            yield renderer.event(event)
            if isinstance(event, Finish):
                return
        yield renderer.event(Finish())
    except EngineError as error:
        yield renderer.error(error.message)
    except Exception as error:
        log.exception("engine failed mid-stream")
        yield renderer.error(_describe(error))
    finally:
        await events.aclose()


async def _progress_lines(
    first: dict[str, Any], progress: AsyncGenerator[dict[str, Any], None]
) -> AsyncGenerator[bytes, None]:
    """Pull progress as ndjson lines; a failure after the first line becomes an error line."""
    try:
        yield json_line(first)
        async for update in progress:
            yield json_line(update)
    except EngineError as error:
        yield json_line({"error": error.message})
    except Exception as error:
        log.exception("engine failed during a pull")
        yield json_line({"error": _describe(error)})
    finally:
        await progress.aclose()


async def _last(first: dict[str, Any], progress: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    last = first
    async for update in progress:
        last = update
    return last


def _stream_flag(body: dict[str, Any]) -> bool:
    stream = body.get("stream", True)
    if not isinstance(stream, bool):
        raise BadRequest('invalid request body: "stream" must be true or false')
    return stream


async def _collect(events: AsyncIterator[Event]) -> Reply:
    reply = Reply()
    pieces: list[str] = []  # joined once: appending to a str attribute is quadratic
    thoughts: list[str] = []
    async for event in events:
        if isinstance(event, TextDelta):
            pieces.append(event.text)
        elif isinstance(event, ThinkingDelta):
            thoughts.append(event.text)
        elif isinstance(event, ToolCalls):
            reply.tool_calls.extend(event.calls)
        else:
            reply.finish = event
    reply.text = "".join(pieces)
    reply.thinking = "".join(thoughts)
    return reply


MAX_BODY_BYTES = 64 * 1024 * 1024


async def _json_body(request: Request, limit: int = MAX_BODY_BYTES) -> Any:
    """The JSON body, read no further than `limit` bytes (413 beyond it)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"request body too large: {declared} bytes, the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body too large: over {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except ValueError as error:
        raise BadRequest(f"invalid JSON body: {error}") from None
    except RecursionError:
        raise BadRequest("invalid JSON body: nested too deeply") from None
    # A lone surrogate (`"\ud800"`) is valid JSON but no valid text: replace it, as Ollama does.
    return _without_lone_surrogates(body) if _SURROGATE_ESCAPE.search(raw) else body


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (send numbers only)")


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(key): _without_lone_surrogates(item) for key, item in value.items()}
    return value


def _media_type(dialect: Dialect, chat: ChatRequest) -> str:
    return dialect.stream_media_type if chat.stream else "application/json"


def _error(dialect: Dialect, status: int, message: str) -> JSONResponse:
    return JSONResponse(dialect.error(status, message), status_code=status)


def _describe(error: Exception) -> str:
    return f"engine error: {type(error).__name__}: {error}"


async def _internal_error(request: Request, error: Exception) -> Response:
    """Unexpected failures outside chat still answer in the route's error shape."""
    return _error(_dialect_for(request.url.path), 500, f"internal error: {type(error).__name__}: {error}")


def _dialect_for(path: str) -> Dialect:
    """The error shape of a path: OpenAI's under ``/v1/``, else Ollama's."""
    return OpenAIDialect() if path.startswith("/v1/") else OllamaDialect()


def _package_version() -> str:
    try:
        return version("alloy-nb")
    except PackageNotFoundError:
        return "0.0.0"
