"""``create_app``: the Ollama-compatible HTTP app around one engine."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime, timedelta, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Send

from alloy_nb.server import ollama_api, openai_api
from alloy_nb.server.engines import (
    ChatRequest,
    DropConnection,
    Engine,
    EngineError,
    Event,
    Finish,
    ModelCard,
    RawBody,
    TextDelta,
    ToolCalls,
)
from alloy_nb.server.ollama_api import OllamaDialect
from alloy_nb.server.openai_api import OpenAIDialect
from alloy_nb.server.wire import BadRequest, BodyTooLarge, Dialect, Reply, StreamRenderer, find_card, json_line

log = logging.getLogger("alloy_nb.server")

KEEP_ALIVE = timedelta(minutes=5)


def create_app(engine: Engine) -> Starlette:
    """An app serving Ollama's native and OpenAI-compatible endpoints from ``engine``."""
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
            name, stream = ollama_api.show_model_name(body), _stream_flag(body)
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
        return JSONResponse(ollama_api.ps(chat.loaded(engine.models())))

    async def server_version(request: Request) -> Response:
        return JSONResponse({"version": _package_version()})

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
    return Starlette(routes=routes, exception_handlers={Exception: _internal_error})


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
        events = self._engine.generate(chat)
        try:
            if chat.stream:
                first = await anext(events, Finish())
            else:
                reply = await _collect(events)
        except EngineError as error:
            return _error(dialect, error.status, error.message)
        except RawBody as raw:
            return Response(raw.body, media_type=_media_type(dialect, chat))
        except DropConnection:
            return _ClosingStream(_dropped(), media_type=_media_type(dialect, chat))
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
    """Render events; engine errors after the first byte become an error line.

    :class:`DropConnection` propagates, which makes the server cut the connection.
    """
    try:
        yield renderer.event(first)
        if isinstance(first, Finish):
            return
        async for event in events:
            yield renderer.event(event)
            if isinstance(event, Finish):
                return
        yield renderer.event(Finish())
    except DropConnection:
        raise
    except EngineError as error:
        yield renderer.error(error.message)
    except Exception as error:
        log.exception("engine failed mid-stream")
        yield renderer.error(_describe(error))
    finally:
        await events.aclose()


async def _dropped() -> AsyncGenerator[bytes, None]:
    """An empty first piece (the headers go out), then a cut connection."""
    yield b""
    raise DropConnection()


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
    async for last in progress:
        pass
    return last


def _stream_flag(body: dict[str, Any]) -> bool:
    stream = body.get("stream", True)
    if not isinstance(stream, bool):
        raise BadRequest('invalid request body: "stream" must be true or false')
    return stream


async def _collect(events: AsyncIterator[Event]) -> Reply:
    reply = Reply()
    pieces: list[str] = []  # joined once: appending to a str attribute is quadratic
    async for event in events:
        if isinstance(event, TextDelta):
            pieces.append(event.text)
        elif isinstance(event, ToolCalls):
            reply.tool_calls.extend(event.calls)
        else:
            reply.finish = event
    reply.text = "".join(pieces)
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
    try:
        return json.loads(b"".join(chunks))
    except ValueError as error:
        raise BadRequest(f"invalid JSON body: {error}") from None
    except RecursionError:
        raise BadRequest("invalid JSON body: nested too deeply") from None


def _media_type(dialect: Dialect, chat: ChatRequest) -> str:
    return dialect.stream_media_type if chat.stream else "application/json"


def _error(dialect: Dialect, status: int, message: str) -> JSONResponse:
    return JSONResponse(dialect.error(status, message), status_code=status)


def _describe(error: Exception) -> str:
    return f"engine error: {type(error).__name__}: {error}"


async def _internal_error(request: Request, error: Exception) -> Response:
    """Unexpected failures outside chat still answer in the route's error shape."""
    dialect: Dialect = OpenAIDialect() if request.url.path.startswith("/v1/") else OllamaDialect()
    return _error(dialect, 500, f"internal error: {type(error).__name__}: {error}")


def _package_version() -> str:
    try:
        return version("alloy-nb")
    except PackageNotFoundError:
        return "0.0.0"
