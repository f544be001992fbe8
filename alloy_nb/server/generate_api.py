"""Ollama's ``/api/generate``: one prompt (with an optional system prompt) rendered with the model's
chat template, or sent as it is with ``raw``; replies as ``response`` lines.

What a model cannot do is refused with Ollama's 400s (see `engines.refusal`): ``suffix`` needs an
"insert" model, ``images`` a vision model, ``think`` a thinking one. ``template`` (a Go template) and
``context`` (token ids, deprecated by Ollama) are refused here too: this server renders with the
model file's own template and keeps no token history, so it says so rather than ignoring them.
"""

from __future__ import annotations

from typing import Any

from alloy_nb.server.engine_events import EngineEvent, Finish, TextDelta, ThinkingDelta
from alloy_nb.server.engines import ChatRequest
from alloy_nb.server.keep_alive import keep_alive
from alloy_nb.server.logprob_wire import ollama_logprobs, top_logprobs
from alloy_nb.server.ollama_api import (
    GenerationFields,
    NativeStream,
    NativeWire,
    done_fields,
    native_options,
    tool_calls_wire,
)
from alloy_nb.server.wire import BadRequest, Reply, json_line, timestamp, validate


class _GenerateBody(GenerationFields):
    prompt: str | None = None
    suffix: str | None = None
    system: str | None = None
    template: str | None = None
    context: list[int] | None = None
    raw: bool | None = None
    images: list[str] | None = None


class GenerateDialect(NativeWire):
    """``POST /api/generate``: ndjson streaming, ``{"error": ...}`` errors."""

    def parse(self, body: Any, path: str) -> ChatRequest:
        generate = validate(_GenerateBody, body)
        if generate.raw and (generate.system or generate.template or generate.context):
            raise BadRequest("raw mode does not support template, system, or context")
        if generate.template:
            raise BadRequest(
                "template is not supported: this server renders prompts with the model file's own chat "
                "template; to use another, render the prompt yourself and send it with raw: true"
            )
        if generate.context:
            raise BadRequest(
                "context (token ids of an earlier reply, deprecated by Ollama) is not supported: "
                "send the whole conversation to /api/chat instead"
            )
        return ChatRequest(
            model=generate.model,
            messages=_messages(generate),
            format=generate.format or None,
            options=native_options(generate.options),
            stream=generate.stream,
            think=generate.think,
            logprobs=bool(generate.logprobs),
            top_logprobs=top_logprobs(generate.top_logprobs),
            raw=bool(generate.raw),
            suffix=generate.suffix or "",
            keep_alive=keep_alive(generate.keep_alive),
            api="ollama",
            path=path,
            body=body,
        )

    def reply(self, request: ChatRequest, reply: Reply, total_ns: int) -> dict[str, Any]:
        line = _line(request.model, reply.text) | ollama_logprobs(reply.logprobs)
        if reply.thinking:
            line["thinking"] = reply.thinking
        return line | done_fields(reply.finish, total_ns)

    def renderer(self, request: ChatRequest, started_ns: int) -> GenerateStream:
        return GenerateStream(request.model, started_ns)

    def loaded(self, request: ChatRequest, done_reason: str) -> dict[str, Any]:
        """The answer to a request without a prompt: the model was loaded (or unloaded)."""
        return _line(request.model, "") | {"done": True, "done_reason": done_reason}


class GenerateStream(NativeStream):
    """ndjson ``response`` lines, then a ``done`` line with counts."""

    def event(self, event: EngineEvent) -> bytes:
        if isinstance(event, TextDelta):
            return json_line(_line(self._model, event.text) | ollama_logprobs(event.logprobs))
        if isinstance(event, ThinkingDelta):
            return json_line(_line(self._model, "") | {"thinking": event.text})
        if isinstance(event, Finish):
            return json_line(_line(self._model, "") | self._done(event))
        return json_line(_line(self._model, "") | {"tool_calls": tool_calls_wire(event.calls)})


def _messages(generate: _GenerateBody) -> list[dict[str, Any]]:
    """The prompt as chat messages: a system message if given, then the prompt (with its images)."""
    if not generate.prompt:
        return []
    user: dict[str, Any] = {"role": "user", "content": generate.prompt}
    if generate.images:
        user["images"] = generate.images
    system = [{"role": "system", "content": generate.system}] if generate.system else []
    return [*system, user]


def _line(model: str, text: str) -> dict[str, Any]:
    return {"model": model, "created_at": timestamp(), "response": text, "done": False}
