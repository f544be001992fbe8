"""The `openai_chat` strategy: the `openai` SDK against Ollama's `/v1/chat/completions` shim."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from .._choices import Strategy
from .._images import Image
from .._messages import AssistantMessage, Message, SystemMessage, ToolCall, ToolResult, UserMessage
from .base import Outgoing, StreamChunk, ToolCallPiece, Turn
from .inline_thinking import split_turn
from .openai_client import OpenAIStrategy, Reader, reasoning_effort
from .wire_fields import enforced_schema, logprob_fields, token_logprobs, tool_call_fields

# The request body is built here in wire form and POSTed with the client's public `post` (the SDK's
# way to reach any endpoint): `chat.completions.create` would first run its parameter transform over
# the body, which costs more than the rest of a call.


def wire_message(message: Message, images: Sequence[Image]) -> dict[str, Any]:
    """A neutral message in OpenAI's chat shape; a user message's images as content parts (data URLs)."""
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": message.text}
    if isinstance(message, UserMessage):
        if not message.images:
            return {"role": "user", "content": message.text}
        parts: list[dict[str, Any]] = [{"type": "text", "text": message.text}]
        parts += [{"type": "image_url", "image_url": {"url": images[index].data_url}} for index in message.images]
        return {"role": "user", "content": parts}
    if isinstance(message, ToolResult):
        return {"role": "tool", "tool_call_id": message.call_id, "content": message.text}
    return _assistant_message(message)


def _assistant_message(message: AssistantMessage) -> dict[str, Any]:
    """The model's turn as it goes back: thinking stays out (the /v1 API takes none back)."""
    wire: dict[str, Any] = {"role": "assistant", "content": message.text}
    if message.tool_calls:
        wire["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {
                    "name": c.name,
                    "arguments": c.arguments if isinstance(c.arguments, str) else json.dumps(c.arguments),
                },
            }
            for c in message.tool_calls
        ]
    return wire


class OpenAIChatStrategy(OpenAIStrategy):
    """OpenAI-style chat: tool results carry `tool_call_id`; typed output is asked for in the prompt
    and, on requests without tools, also constrained with `response_format` (unless `constrained=False`)."""

    name: Strategy = "openai_chat"
    endpoint = "POST /v1/chat/completions"
    path = "/chat/completions"
    reply = ChatCompletion
    streams = (openai.Stream[ChatCompletionChunk], openai.AsyncStream[ChatCompletionChunk])

    def request(self, outgoing: Outgoing) -> dict[str, Any]:
        wire = [wire_message(m, outgoing.images) for m in outgoing.messages]
        request: dict[str, Any] = {"model": self.config.model_name, "messages": wire, "stream": outgoing.stream}
        config = self.config
        if outgoing.tools:
            request["tools"] = [t.spec() for t in outgoing.tools]
            request |= tool_call_fields(True, constrained=config.constrained, parallel=config.parallel_tool_calls)
        elif (schema := enforced_schema(outgoing, config.constrained)) is not None:
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": schema, "strict": True},
            }
        if self.config.temperature is not None:
            request["temperature"] = self.config.temperature
        if self.config.max_tokens is not None:
            request["max_tokens"] = self.config.max_tokens
        if self.config.think is not None:  # Ollama's /v1 reads thinking from reasoning_effort
            request["reasoning_effort"] = reasoning_effort(self.config.think)
        request |= logprob_fields(self.config.logprobs, self.config.top_logprobs)
        if outgoing.stream:
            request["stream_options"] = {"include_usage": True}
        return request

    def turn(self, reply: Any) -> Turn:
        return _turn(reply)

    def chunk_reader(self) -> Reader:
        return _ChunkReader()


def _turn(completion: Any) -> Turn:
    if isinstance(completion, str):  # what the SDK hands back for a reply that is not JSON
        raise json.JSONDecodeError("the reply is not JSON", completion, 0)
    if not getattr(completion, "choices", None):
        raise ValueError("the completion has no choices")
    choice = completion.choices[0]
    message = choice.message
    calls = [  # a call without an id gets `call_<n>`, as a streamed one does
        ToolCall(id=call.id or f"call_{number}", name=call.function.name, arguments=call.function.arguments)
        for number, call in enumerate(message.tool_calls or [])
    ]
    usage = completion.usage
    return split_turn(
        Turn(
            text=message.content or "",
            tool_calls=calls,
            thinking=getattr(message, "reasoning", None),
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            done_reason=choice.finish_reason,
            tokens=token_logprobs(choice.logprobs.content) if choice.logprobs else None,
        )
    )


class _ChunkReader:
    """Reads one stream's SSE chunks into pieces, then the final counts (the usage chunk has no
    choices and comes after the chunk with the finish reason)."""

    def __init__(self) -> None:
        self.finish: str | None = None

    def __call__(self, chunk: Any) -> StreamChunk | None:
        if chunk.usage is not None and not chunk.choices:
            usage = chunk.usage
            return StreamChunk(
                done=True,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                done_reason=self.finish,
            )
        if not chunk.choices:
            return None
        choice = chunk.choices[0]
        delta = choice.delta
        thinking = getattr(delta, "reasoning", None) or ""  # Ollama's /v1 field (not in the SDK's types)
        self.finish = choice.finish_reason or self.finish
        return StreamChunk(
            text=delta.content or "",
            thinking=str(thinking),
            tool_calls=tuple(_call_piece(call) for call in delta.tool_calls) if delta.tool_calls else (),
            done_reason=choice.finish_reason,
            tokens=tuple(token_logprobs(choice.logprobs.content) or ()) if choice.logprobs else (),
        )


def _call_piece(call: Any) -> ToolCallPiece:
    """A tool-call delta: the first of a call has its id and name, the rest argument fragments."""
    function = call.function
    return ToolCallPiece(
        index=call.index,
        id=call.id,
        name=(function.name or "") if function else "",
        arguments=(function.arguments or "") if function else "",
    )
