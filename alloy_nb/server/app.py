"""``create_app``: the Ollama-compatible HTTP app around one engine.

The app reads both wire formats into one `ChatRequest`, checks its schemas, runs it through the
engine and answers in the request's format. Browser-borne requests are guarded (`guard`), bodies
bounded (`bodies`), failures answered in each route's shape and logged as one line (`failures`).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from datetime import datetime, timedelta, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Send

from alloy_nb.server import ollama_api, openai_api
from alloy_nb.server.bodies import json_body, stream_flag
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
from alloy_nb.server.failures import (
    answering_failures,
    describe,
    dialect_for,
    error_response,
    log_failure,
)
from alloy_nb.server.guard import CORS_HEADERS, CORS_METHODS, Guard, origin_pattern
from alloy_nb.server.ollama_api import OllamaDialect
from alloy_nb.server.openai_api import OpenAIDialect
from alloy_nb.server.schema_checks import check_schemas
from alloy_nb.server.wire import BadRequest, Dialect, Reply, StreamRenderer, find_card, json_line

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
            name = ollama_api.show_model_name(await json_body(request))
        except BadRequest as error:
            return JSONResponse({"error": str(error)}, status_code=error.status)
        card = find_card(engine.models(), name)
        if card is None:
            return JSONResponse({"error": f"model '{name}' not found"}, status_code=404)
        return JSONResponse(ollama_api.show(card))

    async def pull(request: Request) -> Response:
        try:
            body = await json_body(request)
            name, stream = ollama_api.pull_model_name(body), stream_flag(body)
        except BadRequest as error:
            return JSONResponse({"error": str(error)}, status_code=error.status)
        progress = engine.pull(name)
        try:
            first = await anext(progress)
            if not stream:
                return JSONResponse(await _last(first, progress))
        except EngineError as error:
            return JSONResponse({"error": error.message}, status_code=error.status)
        lines = _progress_lines(request, first, progress)
        return _ClosingStream(lines, media_type=OllamaDialect.stream_media_type)

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
        Route(path, answering_failures(endpoint), methods=methods)
        for path, endpoint, methods in [
            ("/", root, ["GET", "HEAD"]),
            ("/api/chat", native_chat, ["POST"]),
            ("/api/tags", tags, ["GET", "HEAD"]),
            ("/api/show", show, ["POST"]),
            ("/api/pull", pull, ["POST"]),
            ("/api/ps", running, ["GET"]),
            ("/api/version", server_version, ["GET", "HEAD"]),
            ("/v1/chat/completions", openai_chat, ["POST"]),
            ("/v1/models", openai_models, ["GET"]),
        ]
    ]
    allowed = origin_pattern(origins)
    middleware = [
        Middleware(Guard, allow_any_host=allow_any_host, origins=re.compile(allowed)),
        Middleware(CORSMiddleware, allow_origin_regex=allowed, allow_methods=CORS_METHODS, allow_headers=CORS_HEADERS),
    ]
    return Starlette(routes=routes, middleware=middleware, exception_handlers={Exception: _internal_error})


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
            chat = dialect.parse(await json_body(request), request.url.path)
            chat.headers = dict(request.headers)
            check_schemas(chat)
        except BadRequest as error:
            return error_response(dialect, error.status, str(error))
        card = find_card(self._engine.models(), chat.model)
        refused = refusal(card, chat) if card is not None else None
        if refused is not None:
            return error_response(dialect, 400, refused)
        events = self._engine.generate(chat)
        try:
            if chat.stream:
                first = await anext(events, Finish())
            else:
                reply = await _collect(events)
        except EngineError as error:
            return error_response(dialect, error.status, error.message)
        except Exception as error:
            log_failure(request, describe(error))
            return error_response(dialect, 500, describe(error))
        self._expiry[card.name if card is not None else chat.model] = datetime.now(timezone.utc) + KEEP_ALIVE
        if not chat.stream:
            return JSONResponse(dialect.reply(chat, reply, time.perf_counter_ns() - started))
        body = _stream(request, dialect.renderer(chat, started), first, events)
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
    request: Request, renderer: StreamRenderer, first: Event, events: AsyncGenerator[Event, None]
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
        log_failure(request, describe(error), " mid-stream")
        yield renderer.error(describe(error))
    finally:
        await events.aclose()


async def _progress_lines(
    request: Request, first: dict[str, Any], progress: AsyncGenerator[dict[str, Any], None]
) -> AsyncGenerator[bytes, None]:
    """Pull progress as ndjson lines; a failure after the first line becomes an error line."""
    try:
        yield json_line(first)
        async for update in progress:
            yield json_line(update)
    except EngineError as error:
        yield json_line({"error": error.message})
    except Exception as error:
        log_failure(request, describe(error), " mid-pull")
        yield json_line({"error": describe(error)})
    finally:
        await progress.aclose()


async def _last(first: dict[str, Any], progress: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    last = first
    async for update in progress:
        last = update
    return last


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


def _media_type(dialect: Dialect, chat: ChatRequest) -> str:
    return dialect.stream_media_type if chat.stream else "application/json"


async def _internal_error(request: Request, error: Exception) -> Response:
    """Unexpected failures outside the routes (in middleware) still answer in the route's error shape."""
    return error_response(dialect_for(request.url.path), 500, describe(error, "internal error"))


def _package_version() -> str:
    try:
        return version("alloy-nb")
    except PackageNotFoundError:
        return "0.0.0"
