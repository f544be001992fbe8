"""The `openai_responses` strategy: the `openai` SDK against Ollama's `/v1/responses`.

Ollama serves OpenAI's Responses API statelessly (no `previous_response_id`), so every request
carries the whole conversation as input items: messages, `function_call` items for the tools the
model asked for and `function_call_output` items for what they gave back. The system prompt goes
in `instructions`; typed output in `text.format`; thinking in `reasoning.effort`, and it comes
back as `reasoning` items (Ollama puts the text in their `encrypted_content` and takes it back
there). Like `openai_chat`, the body is POSTed in wire form with the client's public `post`, the
way `responses.create` sends it, without the SDK's parameter transform.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial
from typing import Any

import openai
from openai.types.responses import Response, ResponseStreamEvent

from .. import errors
from .._choices import Strategy
from .._config import Config, redact_host
from .._images import Image
from .._messages import AssistantMessage, Message, SystemMessage, ToolCall, ToolResult, UserMessage
from .._tools import Tool
from ..errors import ConfigurationError
from .base import Outgoing, StreamChunk, ToolCallPiece, Turn
from .inline_thinking import split_turn
from .openai_client import OpenAIStrategy, Reader, reasoning_effort
from .wire_fields import enforced_schema, tool_call_fields


def input_items(message: Message, images: Sequence[Image]) -> list[dict[str, Any]]:
    """A neutral message as Responses input items (an assistant turn may be several)."""
    if isinstance(message, SystemMessage):
        return [{"type": "message", "role": "system", "content": message.text}]
    if isinstance(message, UserMessage):
        if not message.images:
            return [{"type": "message", "role": "user", "content": message.text}]
        parts: list[dict[str, Any]] = [{"type": "input_text", "text": message.text}]
        parts += [
            {"type": "input_image", "image_url": images[index].data_url, "detail": "auto"} for index in message.images
        ]
        return [{"type": "message", "role": "user", "content": parts}]
    if isinstance(message, ToolResult):
        return [{"type": "function_call_output", "call_id": message.call_id, "output": message.text}]
    return _assistant_items(message)


def _assistant_items(message: AssistantMessage) -> list[dict[str, Any]]:
    """The model's turn as it goes back: its reasoning, its text, then one item per tool call. A turn
    without calls is a message even when empty: without it the turn would vanish (two user messages in
    a row), and its reasoning would join the next assistant turn."""
    items: list[dict[str, Any]] = []
    if message.thinking:
        summary = [{"type": "summary_text", "text": message.thinking}]
        items.append({"type": "reasoning", "summary": summary, "encrypted_content": message.thinking})
    if message.text or not message.tool_calls:
        items.append({"type": "message", "role": "assistant", "content": message.text})
    items += [
        {
            "type": "function_call",
            "call_id": call.id,
            "name": call.name,
            "arguments": call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments),
        }
        for call in message.tool_calls
    ]
    return items


def function_tool(tool: Tool) -> dict[str, Any]:
    """A tool as the Responses API describes one: flat, not nested under `function`."""
    spec = tool.spec()["function"]
    return {"type": "function", **spec, "strict": False}


class OpenAIResponsesStrategy(OpenAIStrategy):
    """OpenAI's Responses API: tool results are `function_call_output` items matched by `call_id`;
    typed output is asked for in the prompt and, on requests without tools, also constrained with
    `text.format` (unless `constrained=False`)."""

    name: Strategy = "openai_responses"
    endpoint = "POST /v1/responses"
    path = "/responses"
    reply = Response
    streams = (openai.Stream[ResponseStreamEvent], openai.AsyncStream[ResponseStreamEvent])

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        if config.logprobs or config.top_logprobs:
            raise ConfigurationError(
                f"Token probabilities are not on Ollama's /v1/responses (model {config.model!r}). "
                "Use api='native' or api='openai_chat' to get them."
            )

    def request(self, outgoing: Outgoing) -> dict[str, Any]:
        messages = list(outgoing.messages)
        request: dict[str, Any] = {"model": self.config.model_name}
        if messages and isinstance(messages[0], SystemMessage):
            request["instructions"] = messages.pop(0).text
        request["input"] = [item for m in messages for item in input_items(m, outgoing.images)]
        request["stream"] = outgoing.stream
        config = self.config
        if outgoing.tools:
            request["tools"] = [function_tool(t) for t in outgoing.tools]
            request |= tool_call_fields(True, constrained=config.constrained, parallel=config.parallel_tool_calls)
        elif (enforced := enforced_schema(outgoing, config.constrained)) is not None:
            request["text"] = {"format": {"type": "json_schema", "name": "output", "schema": enforced, "strict": True}}
        if self.config.temperature is not None:
            request["temperature"] = self.config.temperature
        if self.config.max_tokens is not None:
            request["max_output_tokens"] = self.config.max_tokens
        if self.config.think is not None:
            request["reasoning"] = {"effort": reasoning_effort(self.config.think)}
        return request

    def turn(self, reply: Any) -> Turn:
        return response_turn(reply)

    def chunk_reader(self) -> Reader:
        return partial(event_chunk, host=redact_host(self.config.host))


def response_turn(response: Any) -> Turn:
    """A whole Response: its reasoning, text and function calls gathered from its output items."""
    if isinstance(response, str):  # what the SDK hands back for a reply that is not JSON
        raise json.JSONDecodeError("the reply is not JSON", response, 0)
    if getattr(response, "output", None) is None:
        raise ValueError("the response has no output")
    text: list[str] = []
    thinking: list[str] = []
    calls: list[ToolCall] = []
    for item in response.output:
        if item.type == "message":
            text += [part.text for part in item.content if part.type == "output_text"]
        elif item.type == "reasoning":
            thinking += _reasoning_text(item)
        elif item.type == "function_call":
            number = len(calls)  # a call without an id gets `call_<n>`, as a streamed one does
            calls.append(ToolCall(id=item.call_id or f"call_{number}", name=item.name, arguments=item.arguments))
    usage = response.usage
    return split_turn(
        Turn(
            text="".join(text),
            tool_calls=calls,
            thinking="".join(thinking) or None,
            prompt_tokens=usage.input_tokens if usage else None,
            completion_tokens=usage.output_tokens if usage else None,
            done_reason=_done_reason(response, bool(calls)),
        )
    )


def _reasoning_text(item: Any) -> list[str]:
    """A reasoning item's text: its content where it has some (OpenAI), else its summary (Ollama)."""
    content = [part.text for part in item.content or () if part.type == "reasoning_text"]
    return content or [part.text for part in item.summary or ()]


def _done_reason(response: Any, called_tools: bool) -> str | None:
    """Why the reply stopped, in the words the other strategies use (`length` for a token limit)."""
    if response.status == "incomplete":
        details = response.incomplete_details
        reason = details.reason if details is not None else None
        return "length" if reason in (None, "max_output_tokens") else str(reason)
    if response.status == "completed":
        if _used_every_token(response):  # Ollama says "completed" even when the token limit cut the reply
            return "length"
        return "tool_calls" if called_tools else "stop"
    return response.status  # type: ignore[no-any-return]


def _used_every_token(response: Any) -> bool:
    """The reply took all the tokens it was allowed (`max_output_tokens`, which the response repeats)."""
    limit, usage = response.max_output_tokens, response.usage
    return bool(limit) and usage is not None and usage.output_tokens >= limit


def event_chunk(event: Any, host: str) -> StreamChunk | None:
    """One semantic stream event as a chunk; the events that only frame the reply give None, and
    a failure the server reports mid-stream raises `ServerError`.

    A function call opens with its item (call id and name) and continues with argument fragments;
    both carry the item's `output_index`, which tells the calls of one turn apart."""
    kind = event.type
    if kind == "response.output_text.delta":
        return StreamChunk(text=event.delta)
    if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
        return StreamChunk(thinking=event.delta)
    if kind == "response.output_item.added" and event.item.type == "function_call":
        item = event.item
        return StreamChunk(
            tool_calls=(ToolCallPiece(index=event.output_index, id=item.call_id, name=item.name, arguments=""),)
        )
    if kind == "response.function_call_arguments.delta":
        return StreamChunk(tool_calls=(ToolCallPiece(index=event.output_index, arguments=event.delta),))
    if kind in ("response.completed", "response.incomplete"):
        response = event.response
        usage = response.usage
        called = any(item.type == "function_call" for item in response.output or ())
        return StreamChunk(
            done=True,
            prompt_tokens=usage.input_tokens if usage else None,
            completion_tokens=usage.output_tokens if usage else None,
            done_reason=_done_reason(response, called),
        )
    if kind == "response.failed":
        error = event.response.error
        raise errors.failed_mid_reply(host, error.message if error else "the response failed")
    if kind == "error":
        raise errors.failed_mid_reply(host, str(getattr(event, "message", None) or "no reason given"))
    return None
