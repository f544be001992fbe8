"""The `native` strategy: the `ollama` SDK against `POST /api/chat`."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Sequence
from contextlib import AbstractAsyncContextManager
from functools import lru_cache
from typing import Any

import anyio
import httpx
import ollama

from .._choices import Strategy
from .._client_cache import ClientCache
from .._config import Config
from .._images import Image
from .._messages import AssistantMessage, Message, SystemMessage, ToolCall, ToolResult, UserMessage
from .._tools import Tool
from ..errors import AlloyError
from .base import Exchange, Outgoing, StreamChunk, ToolCallPiece, Turn
from .capture import ASYNC_WIRE_HOOKS, WIRE_HOOKS, recording
from .deadline import deadline_transport
from .failures import translated
from .inline_thinking import split_turn
from .pool import client_key, leased_client
from .wire_fields import enforced_schema, logprob_fields, token_logprobs, tool_call_fields

TOP_LEVEL_FIELDS = ("think", "keep_alive")  # native request fields that users set via extra["ollama_options"]


def wire_message(message: Message, images: Sequence[Image]) -> dict[str, Any]:
    """A neutral message as the SDK's Message holds it (empty fields left out); images as base64."""
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": message.text}
    if isinstance(message, UserMessage):
        wire: dict[str, Any] = {"role": "user", "content": message.text}
        if message.images:
            wire["images"] = [images[index].base64 for index in message.images]
        return wire
    if isinstance(message, ToolResult):
        return {"role": "tool", "tool_name": message.name, "content": message.text}
    return _assistant_message(message)


def _assistant_message(message: AssistantMessage) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": "assistant", "content": message.text}
    if message.thinking:
        wire["thinking"] = message.thinking
    if message.tool_calls:
        wire["tool_calls"] = [{"function": {"name": c.name, "arguments": c.arguments}} for c in message.tool_calls]
    return wire


class NativeStrategy:
    """Ollama's own chat API: tool results carry `tool_name`; typed output uses `format=<schema>`."""

    name: Strategy = "native"
    endpoint = "POST /api/chat"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.client_key = client_key(config)  # the config never changes, so neither does its client
        self._top_level, self._options = _settings_fields(config)  # nor what its settings put in a request

    def request(self, outgoing: Outgoing) -> dict[str, Any]:
        config = self.config
        request: dict[str, Any] = {
            "model": config.model_name,
            "messages": [wire_message(m, outgoing.images) for m in outgoing.messages],
            "tools": [_ollama_tool(t) for t in outgoing.tools],
            "stream": outgoing.stream,
            **self._top_level,
        }
        # the tool-call switches ride in `options`, the native API's open map (the SDK's `chat()` has no
        # other place for them; Ollama ignores options it does not know)
        switches = tool_call_fields(
            bool(outgoing.tools), constrained=config.constrained, parallel=config.parallel_tool_calls
        )
        options = self._options | native_tool_options(switches) if switches else self._options
        if options:
            request["options"] = dict(options)
        if (schema := enforced_schema(outgoing, config.constrained)) is not None:
            request["format"] = schema
        return request

    def send(self, request: dict[str, Any], exchange: Exchange) -> Turn:
        with translated(self.config, _classify, exchange), recording(exchange):
            return _turn(self._client(whole_reply=True).chat(**request))

    async def send_async(self, request: dict[str, Any], exchange: Exchange) -> Turn:
        async with translated(self.config, _classify, exchange), self._async_client() as client:
            with recording(exchange), anyio.fail_after(self.config.timeout):  # the whole reply: see deadline.py
                return _turn(await client.chat(**request))

    def stream(self, request: dict[str, Any], exchange: Exchange) -> Generator[StreamChunk, None, None]:
        with translated(self.config, _classify, exchange):
            replies = self._client(whole_reply=False).chat(**request)
            try:
                with recording(exchange):  # the request goes out with the first chunk
                    first = next(replies, None)
                if first is not None:
                    yield _chunk(first)
                    for reply in replies:
                        yield _chunk(reply)
            finally:
                replies.close()  # hand the connection back now, not when collected

    async def stream_async(self, request: dict[str, Any], exchange: Exchange) -> AsyncGenerator[StreamChunk, None]:
        async with translated(self.config, _classify, exchange), self._async_client() as client:
            replies = await client.chat(**request)
            try:
                with recording(exchange):  # the request goes out with the first chunk
                    first = await anext(replies, None)
                if first is not None:
                    yield _chunk(first)
                    async for reply in replies:
                        yield _chunk(reply)
            finally:
                await replies.aclose()  # hand the connection back now, not when collected

    def _client(self, *, whole_reply: bool) -> ollama.Client:
        return _clients.get(*self.client_key, whole_reply)

    def _async_client(self) -> AbstractAsyncContextManager[ollama.AsyncClient]:
        return leased_client(("native", *self.client_key), lambda: _async_client(self.config))


def _settings_fields(config: Config) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a config's settings put in every request: top-level fields, and `options` (the named
    settings win over the same raw option in `extra["ollama_options"]`, whichever layer set each)."""
    options = dict(config.extra.get("ollama_options", {}))
    top_level = {key: options.pop(key) for key in TOP_LEVEL_FIELDS if key in options}
    if config.temperature is not None:
        options["temperature"] = config.temperature
    if config.max_tokens is not None:
        options["num_predict"] = config.max_tokens
    if config.think is not None:
        top_level["think"] = config.think
    if config.context_length is not None:
        options["num_ctx"] = config.context_length
    if config.keep_alive is not None:
        top_level["keep_alive"] = config.keep_alive
    return top_level | logprob_fields(config.logprobs, config.top_logprobs), options


def native_tool_options(fields: dict[str, Any]) -> dict[str, Any]:
    """The tool-call switches as native `options` keys (no leading underscore there).

    >>> native_tool_options({"parallel_tool_calls": False, "_tool_grammar": False})
    {'parallel_tool_calls': False, 'tool_grammar': False}
    """
    return {name.lstrip("_"): value for name, value in fields.items()}


def _classify(problem: BaseException) -> AlloyError | tuple[int, str] | None:
    """The ollama SDK reports an HTTP error answer as ResponseError; the rest is httpx's."""
    if isinstance(problem, ollama.ResponseError):
        return problem.status_code, problem.error
    return None


def _new_client(host: str, timeout: float, headers: tuple[tuple[str, str], ...], whole_reply: bool) -> ollama.Client:
    """A client for one host, timeout and headers; it records every request body it sends. With
    `whole_reply` (non-streamed calls), `timeout` bounds each reply in all, not only each read."""
    return ollama.Client(
        host=host,
        timeout=httpx.Timeout(timeout, connect=10.0),
        headers=dict(headers),
        follow_redirects=False,  # a redirect would resend the body and the headers elsewhere
        event_hooks=WIRE_HOOKS,
        transport=deadline_transport(timeout, client=httpx.Client, transport=httpx.HTTPTransport)
        if whole_reply
        else None,
    )


_clients = ClientCache(_new_client, size=16)  # two per host and settings: whole replies, streams


def _async_client(config: Config) -> ollama.AsyncClient:
    """A pooled async client that records every request body it sends (one per event loop)."""
    return ollama.AsyncClient(
        host=config.base_url,
        timeout=httpx.Timeout(config.timeout, connect=10.0),
        headers=config.request_headers,
        follow_redirects=False,
        event_hooks=ASYNC_WIRE_HOOKS,
    )


def _turn(reply: ollama.ChatResponse) -> Turn:
    message = reply.message
    calls = [
        ToolCall(id=f"call_{index}", name=call.function.name, arguments=dict(call.function.arguments))
        for index, call in enumerate(message.tool_calls or [])
    ]
    return split_turn(
        Turn(
            text=message.content or "",
            tool_calls=calls,
            thinking=message.thinking,
            prompt_tokens=reply.prompt_eval_count,
            completion_tokens=reply.eval_count,
            done_reason=reply.done_reason,
            generation_s=reply.eval_duration / 1e9 if reply.eval_duration else None,
            tokens=token_logprobs(getattr(reply, "logprobs", None)),  # ollama < 0.6.1 has no logprobs
        )
    )


def _chunk(reply: ollama.ChatResponse) -> StreamChunk:
    """One ndjson line; since Ollama 0.8 a line may carry tool calls, each one whole."""
    calls = reply.message.tool_calls
    return StreamChunk(
        text=reply.message.content or "",
        thinking=reply.message.thinking or "",
        tool_calls=tuple(
            ToolCallPiece(index=None, name=call.function.name, arguments=dict(call.function.arguments))
            for call in calls
        )
        if calls
        else (),
        done=bool(reply.done),
        prompt_tokens=reply.prompt_eval_count,
        completion_tokens=reply.eval_count,
        done_reason=reply.done_reason,
        generation_s=reply.eval_duration / 1e9 if reply.eval_duration else None,
        tokens=tuple(token_logprobs(getattr(reply, "logprobs", None)) or ()),
    )


_PROPERTY_KEYS = ("type", "items", "description", "enum")  # what Ollama's tool property schema holds


@lru_cache(maxsize=256)
def _ollama_tool(tool: Tool) -> dict[str, Any]:
    """The tool spec in the shape the ollama SDK's Tool model takes: `$ref`s inlined,
    `Optional` as a type list, only the keys Ollama describes (no `additionalProperties`, `default`)."""
    spec = tool.spec()["function"]
    schema = spec["parameters"]
    defs = schema.get("$defs", {})
    parameters: dict[str, Any] = {"type": "object"}
    if schema.get("required"):
        parameters["required"] = schema["required"]
    parameters["properties"] = {
        name: {key: simple[key] for key in _PROPERTY_KEYS if key in simple}
        for name, simple in (
            (name, _simple_property(prop, defs)) for name, prop in schema.get("properties", {}).items()
        )
    }
    return {
        "type": "function",
        "function": {"name": spec["name"], "description": spec["description"], "parameters": parameters},
    }


def _simple_property(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = prop.get("$ref", "")
    if ref.startswith("#/$defs/"):
        prop = {**defs.get(ref.removeprefix("#/$defs/"), {}), **{k: v for k, v in prop.items() if k != "$ref"}}
    variants = prop.get("anyOf")
    if variants and all("type" in v for v in variants):
        merged = {k: v for k, v in prop.items() if k != "anyOf"}
        merged["type"] = [v["type"] for v in variants]
        for variant in variants:
            for key in ("items", "enum"):
                if key in variant:
                    merged[key] = variant[key]
        prop = merged
    return prop
