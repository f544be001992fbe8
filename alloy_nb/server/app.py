"""``create_app``: the Ollama-compatible HTTP app around one engine.

The app reads every chat-like wire format (``/api/chat``, ``/api/generate``, ``/v1/chat/completions``,
``/v1/responses``) into one `ChatRequest`, checks its schemas, runs it through the engine and answers
in the request's format; the embedding endpoints share one `EmbedRequest` (`embed_api`). Browser-borne
requests are guarded (`guard`), bodies bounded (`bodies`), failures answered in each route's shape and
logged as one line (`failures`).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar

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
from alloy_nb.server.embed_api import EmbedForm, LegacyEmbeddings, OllamaEmbed, OpenAIEmbeddings
from alloy_nb.server.engine_events import EngineEvent, Finish, TextDelta, ThinkingDelta, ToolCalls
from alloy_nb.server.engines import ChatRequest, Embeddings, Engine, EngineError, refusal
from alloy_nb.server.failures import (
    ErrorShape,
    answering_failures,
    describe,
    dialect_for,
    error_response,
    log_failure,
)
from alloy_nb.server.generate_api import GenerateDialect
from alloy_nb.server.guard import CORS_HEADERS, CORS_METHODS, Guard, origin_pattern
from alloy_nb.server.keep_alive import LoadedModels
from alloy_nb.server.ollama_api import OllamaDialect
from alloy_nb.server.openai_api import OpenAIDialect
from alloy_nb.server.responses_api import ResponsesDialect
from alloy_nb.server.schema_checks import check_schemas
from alloy_nb.server.wire import BadRequest, Dialect, Reply, StreamRenderer, find_card, json_line

T = TypeVar("T")
F = TypeVar("F", bound=ErrorShape)


def create_app(
    engine: Engine, *, allow_any_host: bool = False, origins: Iterable[str] = (), started_by: str | None = None
) -> Starlette:
    """An app serving Ollama's native and OpenAI-compatible endpoints from ``engine``.

    Set ``allow_any_host`` when listening on a non-loopback address; otherwise a
    ``Host`` that is not a loopback name gets 403. Browser origins allowed besides
    the local ones: ``OLLAMA_ORIGINS`` and ``origins`` (comma-separated, ``*`` wildcards).
    ``started_by`` ("notebook" or "cli") goes into ``/api/version``, so a client's advice for a
    missing model names the way this server was started.
    """
    loaded_models = LoadedModels()
    handlers = _Handlers(engine, loaded_models)
    native_chat = _endpoint(handlers.chat, OllamaDialect())
    native_generate = _endpoint(handlers.chat, GenerateDialect())
    openai_chat = _endpoint(handlers.chat, OpenAIDialect())
    openai_responses = _endpoint(handlers.chat, ResponsesDialect())
    embed = _endpoint(handlers.embed, OllamaEmbed())
    embed_legacy = _endpoint(handlers.embed, LegacyEmbeddings())
    openai_embeddings = _endpoint(handlers.embed, OpenAIEmbeddings())

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
        loaded = loaded_models.loaded(engine.models())
        return JSONResponse(
            ollama_api.ps([(c, at, engine.loaded_context(c.name) or c.context_length) for c, at in loaded])
        )

    async def server_version(request: Request) -> Response:
        # Ollama answers {"version"} only; "server" lets clients tell the embedded server apart
        about = {"version": _package_version(), "server": "alloy-nb"}
        return JSONResponse(about if started_by is None else {**about, "started_by": started_by})

    async def openai_models(request: Request) -> Response:
        return JSONResponse(openai_api.models(engine.models()))

    async def root(request: Request) -> Response:
        return PlainTextResponse("Ollama is running")

    routes = [
        Route(path, answering_failures(endpoint), methods=methods)
        for path, endpoint, methods in [
            ("/", root, ["GET", "HEAD"]),
            ("/api/chat", native_chat, ["POST"]),
            ("/api/generate", native_generate, ["POST"]),
            ("/api/embed", embed, ["POST"]),
            ("/api/embeddings", embed_legacy, ["POST"]),
            ("/api/tags", tags, ["GET", "HEAD"]),
            ("/api/show", show, ["POST"]),
            ("/api/pull", pull, ["POST"]),
            ("/api/ps", running, ["GET"]),
            ("/api/version", server_version, ["GET", "HEAD"]),
            ("/v1/chat/completions", openai_chat, ["POST"]),
            ("/v1/responses", openai_responses, ["POST"]),
            ("/v1/embeddings", openai_embeddings, ["POST"]),
            ("/v1/models", openai_models, ["GET"]),
        ]
    ]
    allowed = origin_pattern(origins)
    middleware = [
        Middleware(Guard, allow_any_host=allow_any_host, origins=re.compile(allowed)),
        Middleware(CORSMiddleware, allow_origin_regex=allowed, allow_methods=CORS_METHODS, allow_headers=CORS_HEADERS),
    ]
    return Starlette(routes=routes, middleware=middleware, exception_handlers={Exception: _internal_error})


def _endpoint(handle: Callable[[Request, F], Awaitable[Response]], form: F) -> Callable[[Request], Awaitable[Response]]:
    """A route's endpoint: `handle` answering in `form` (a dialect or an embedding form), bad requests included."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handle(request, form)
        except BadRequest as error:
            return error_response(form, error.status, str(error))

    return endpoint


@dataclass(frozen=True)
class _Handlers:
    """Runs chat and embedding requests through the engine, answering in each request's wire format,
    and notes the models they use."""

    engine: Engine
    loaded: LoadedModels

    async def chat(self, request: Request, dialect: Dialect) -> Response:
        """One chat request (or one that only loads or renders), answered in `dialect`."""
        started = time.perf_counter_ns()
        chat = dialect.parse(await json_body(request), request.url.path)
        chat.headers = dict(request.headers)
        check_schemas(chat)
        card = find_card(self.engine.models(), chat.model)
        refused = refusal(card, chat) if card is not None else None
        if refused is not None:
            return error_response(dialect, 400, refused)
        # no messages (no prompt): a request to load or unload the model, answered as Ollama answers it
        if card is not None and not chat.messages and (load := dialect.loaded(chat, _load_reason(chat))):
            self.loaded.used(card.name, chat.keep_alive)
            return JSONResponse(load)
        if chat.render_only and isinstance(dialect, OllamaDialect):
            return await self._rendered(chat, dialect)
        events = self.engine.generate(chat)
        try:  # the whole reply, or a stream's first event: until then only a disconnect says the client left
            outcome = await _unless_disconnected(request, anext(events, Finish()) if chat.stream else _collect(events))
        except EngineError as error:
            return error_response(dialect, error.status, error.message)
        except Exception as error:
            log_failure(request, describe(error))
            return error_response(dialect, 500, describe(error))
        if outcome is None:  # the client went away: its generation stopped, and its slot is free
            await events.aclose()
            return Response(status_code=499)
        self.loaded.used(card.name if card is not None else chat.model, chat.keep_alive)
        if isinstance(outcome, Reply):
            return JSONResponse(dialect.reply(chat, outcome, time.perf_counter_ns() - started))
        body = _stream(request, dialect.renderer(chat, started), outcome, events)
        return _ClosingStream(body, media_type=_media_type(dialect, chat))

    async def embed(self, request: Request, form: EmbedForm) -> Response:
        """One embedding request, answered in `form`."""
        started = time.perf_counter_ns()
        embed = form.parse(await json_body(request))
        card = find_card(self.engine.models(), embed.model)
        if card is None:
            return error_response(form, 404, f"model '{embed.model}' not found")
        try:
            result = await _unless_disconnected(request, self.engine.embed(embed)) if embed.inputs else Embeddings([])
            if result is None:  # the client went away: nobody to answer
                return Response(status_code=499)
            body = form.reply(embed, result, time.perf_counter_ns() - started)
        except EngineError as error:
            return error_response(form, error.status, error.message)
        self.loaded.used(card.name, embed.keep_alive)
        return JSONResponse(body)

    async def _rendered(self, chat: ChatRequest, dialect: OllamaDialect) -> Response:
        """The prompt the model would read, generating nothing (Ollama's ``_debug_render_only``)."""
        try:
            rendered = await self.engine.render(chat)
        except EngineError as error:
            return error_response(dialect, error.status, error.message)
        return JSONResponse(dialect.rendered(chat, rendered))


async def _unless_disconnected(request: Request, work: Awaitable[T]) -> T | None:
    """The result of `work`, or None (`work` cancelled) if the client disconnects first."""
    job, gone = asyncio.ensure_future(work), asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({job, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        job.cancel()  # (nothing to cancel when it is done)
        await asyncio.gather(job, gone, return_exceptions=True)
    return None if job.cancelled() else job.result()


async def _disconnected(request: Request) -> None:
    """Returns when the client disconnects (its body has been read: nothing else can arrive)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


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
    request: Request, renderer: StreamRenderer, first: EngineEvent, events: AsyncGenerator[EngineEvent, None]
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


async def _collect(events: AsyncIterator[EngineEvent]) -> Reply:
    reply = Reply()
    pieces: list[str] = []  # joined once: appending to a str attribute is quadratic
    thoughts: list[str] = []
    async for event in events:
        if isinstance(event, TextDelta):
            pieces.append(event.text)
            reply.logprobs.extend(event.logprobs)
        elif isinstance(event, ThinkingDelta):
            thoughts.append(event.text)
        elif isinstance(event, ToolCalls):
            reply.tool_calls.extend(event.calls)
        else:
            reply.finish = event
    reply.text = "".join(pieces)
    reply.thinking = "".join(thoughts)
    return reply


def _load_reason(chat: ChatRequest) -> str:
    """Why a request without a prompt is done: it unloads the model when it keeps it for no time."""
    return "unload" if chat.keep_alive == timedelta(0) else "load"


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
