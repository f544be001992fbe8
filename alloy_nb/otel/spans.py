"""A finished call's trace as OpenTelemetry spans in the GenAI conventions.

One `call {model}` span per call (INTERNAL, `alloy_nb.*` attributes); under it a `chat {model}`
span (CLIENT) per request and an `execute_tool {name}` span (INTERNAL) per tool run. The spans are
written after the call, from the trace, with the times the trace recorded: nothing is measured
twice and the call's own thread never waits for them. Retries are events on the call span
(`alloy_nb.retry`) and attributes of the chat spans (`alloy_nb.attempt`), as is the finalize turn
(`alloy_nb.finalize`). A failed span has `error.type` (the exception's class; for a tool,
`ToolError`, `ContractFailed` or `interrupted`) and an error status.

Content (prompts, replies, tool arguments and results, error messages, which may quote a reply)
is written only with `capture`. Headers, API keys and host credentials are never in a trace, and
the host comes redacted: none can reach a span.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, set_span_in_context

from .._trace import ErrorInfo, RequestEvent, ResponseEvent, RetryEvent, ToolEvent, Trace
from .content import arguments_json, input_messages, output_messages, tool_definitions

PROVIDER = "ollama"
Attributes = dict[str, Any]
# Request settings and Ollama options with a name in the conventions. A named setting wins over the
# same raw option, as it does in the request (`_strategies/native.py:_settings_fields`).
SETTING_ATTRIBUTES = {"temperature": "gen_ai.request.temperature", "max_tokens": "gen_ai.request.max_tokens"}
OPTION_ATTRIBUTES = {
    "temperature": "gen_ai.request.temperature",
    "num_predict": "gen_ai.request.max_tokens",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "seed": "gen_ai.request.seed",
    "stop": "gen_ai.request.stop_sequences",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
}


@dataclass(frozen=True, slots=True)
class Finished:
    """A call that ended: its trace, the context it ran in, and when it began (ns since the epoch)."""

    trace: Trace
    parent: Context
    epoch_ns: int


@dataclass(slots=True)
class RequestOutcome:
    """One request and how it ended: its reply, or the error it failed with."""

    request: RequestEvent
    response: ResponseEvent | None = None
    error: ErrorInfo | None = None
    ended_s: float | None = None


def emit(tracer: Tracer, finished: Finished, *, capture: bool) -> None:
    """Write the spans of one finished call."""
    trace = finished.trace
    at = _clock(finished.epoch_ns)
    model = trace.model.removeprefix("ollama:")
    end = trace.duration_s if trace.duration_s is not None else trace.elapsed()
    call = tracer.start_span(
        f"call {model}",
        context=finished.parent,
        kind=SpanKind.INTERNAL,
        start_time=at(0.0),
        attributes=call_attributes(trace, model),
    )
    inside = set_span_in_context(call)
    chat = chat_attributes(trace, model)
    for outcome in outcomes(trace):
        _chat_span(tracer, inside, trace, outcome, chat, at, capture=capture)
    for event in trace.tool_events:
        _tool_span(tracer, inside, trace, event, at, capture=capture)
    for retry in trace.retries:
        call.add_event("alloy_nb.retry", _retry_attributes(retry), timestamp=at(retry.at_s))
    for warning in trace.warnings:
        call.add_event("alloy_nb.warning", {"message": warning})
    if trace.error is not None:
        _failed(call, trace.error, capture=capture)
    call.end(end_time=at(end))


def call_attributes(trace: Trace, model: str) -> Attributes:
    """The call span's: what the whole call was. They are alloy_nb's own: the call is no single GenAI
    operation (a backend reading `gen_ai.*` would take it for a request), its chat spans are."""
    attributes: Attributes = {
        "alloy_nb.call.id": trace.id,  # alloy_nb.logs.get(id) gives the call's whole trace
        "alloy_nb.model": model,
        "alloy_nb.strategy": trace.strategy,
    }
    if trace.output_type != "str":
        attributes["alloy_nb.output.type"] = trace.output_type
    if trace.tools:
        attributes["alloy_nb.tools"] = list(trace.tools)
    if trace.stream:
        attributes["alloy_nb.stream"] = True
    attempts = max((request.attempt for request in trace.requests), default=1)
    if attempts > 1:
        attributes["alloy_nb.attempts"] = attempts
    return attributes


def chat_attributes(trace: Trace, model: str) -> Attributes:
    """What every chat span of the call shares: operation, provider, model, server, settings."""
    attributes: Attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": PROVIDER,
        "gen_ai.request.model": model,
    }
    address = urlsplit(trace.host)  # the trace's host is redacted: no credentials in it
    if address.hostname:
        attributes["server.address"] = address.hostname
        port = address.port or {"http": 80, "https": 443}.get(address.scheme)
        if port is not None:
            attributes["server.port"] = port
    if trace.stream:
        attributes["gen_ai.request.stream"] = True
    if trace.output_type != "str":
        attributes["gen_ai.output.type"] = "json"
    return attributes | request_attributes(trace)


def request_attributes(trace: Trace) -> Attributes:
    """The request settings that have a name in the conventions (only those that were set)."""
    settings = trace.request_settings
    options = (settings.get("extra") or {}).get("ollama_options") or {}
    found: Attributes = {}
    if isinstance(options, dict):
        found = {name: options[key] for key, name in OPTION_ATTRIBUTES.items() if _plain(options.get(key))}
    return found | {name: settings[key] for key, name in SETTING_ATTRIBUTES.items() if settings.get(key) is not None}


def outcomes(trace: Trace) -> list[RequestOutcome]:
    """Each request of the call with its reply or its failure, in order."""
    found: list[RequestOutcome] = []
    for event in trace.events:
        current = found[-1] if found else None
        pending = current is not None and current.response is None and current.error is None
        if isinstance(event, RequestEvent):
            found.append(RequestOutcome(event))
        elif isinstance(event, ResponseEvent) and pending and current is not None:
            current.response = event
        elif isinstance(event, RetryEvent) and pending and current is not None:
            current.error, current.ended_s = event.error, event.at_s
    if found and found[-1].response is None and found[-1].error is None:
        found[-1].error = trace.error  # the request the call failed on (None: it was interrupted)
    return found


def _chat_span(
    tracer: Tracer,
    parent: Context,
    trace: Trace,
    outcome: RequestOutcome,
    shared: Attributes,
    at: Callable[[float], int],
    *,
    capture: bool,
) -> None:
    request, response = outcome.request, outcome.response
    attributes = dict(shared)
    if request.attempt > 1:
        attributes["alloy_nb.attempt"] = request.attempt
    if request.finalize:
        attributes["alloy_nb.finalize"] = True
    if capture:
        attributes["gen_ai.input.messages"] = input_messages(request.messages, trace.images)
        if trace.tool_schemas and not request.finalize:
            attributes["gen_ai.tool.definitions"] = tool_definitions(trace.tool_schemas)
    if response is not None:
        attributes |= _response_attributes(response, capture=capture)
    span = tracer.start_span(
        f"chat {shared['gen_ai.request.model']}",
        context=parent,
        kind=SpanKind.CLIENT,
        start_time=at(request.at_s),
        attributes=attributes,
    )
    if response is None and outcome.error is not None:
        _failed(span, outcome.error, capture=capture)
    span.end(end_time=at(_ended(outcome, trace)))


def _response_attributes(response: ResponseEvent, *, capture: bool) -> Attributes:
    attributes: Attributes = {}
    raw = response.raw if isinstance(response.raw, dict) else {}
    if isinstance(raw.get("model"), str):
        attributes["gen_ai.response.model"] = raw["model"]
    if isinstance(raw.get("id"), str):
        attributes["gen_ai.response.id"] = raw["id"]
    if response.done_reason:
        attributes["gen_ai.response.finish_reasons"] = [response.done_reason]
    if response.usage.prompt_tokens is not None:
        attributes["gen_ai.usage.input_tokens"] = response.usage.prompt_tokens
    if response.usage.completion_tokens is not None:
        attributes["gen_ai.usage.output_tokens"] = response.usage.completion_tokens
    if response.ttft_s is not None:
        attributes["gen_ai.response.time_to_first_chunk"] = response.ttft_s
    if capture:
        attributes["gen_ai.output.messages"] = output_messages(response)
    return attributes


def _ended(outcome: RequestOutcome, trace: Trace) -> float:
    """When a request ended, in the trace's seconds: its reply complete, its failure seen, or the call's end."""
    response = outcome.response
    if response is not None:
        return response.at_s if response.at_s is not None else outcome.request.at_s + response.duration_s
    if outcome.ended_s is not None:
        return outcome.ended_s
    return trace.duration_s if trace.duration_s is not None else trace.elapsed()


def _tool_span(
    tracer: Tracer, parent: Context, trace: Trace, event: ToolEvent, at: Callable[[float], int], *, capture: bool
) -> None:
    started = event.at_s or 0.0
    attributes: Attributes = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": event.name,
        "gen_ai.tool.call.id": event.call_id,
        "gen_ai.tool.type": "function",
        "alloy_nb.turn": event.turn,
    }
    description = next((s.get("description") for s in trace.tool_schemas if s.get("name") == event.name), None)
    if isinstance(description, str) and description:
        attributes["gen_ai.tool.description"] = description
    if capture:
        attributes["gen_ai.tool.call.arguments"] = arguments_json(event.arguments)
        if event.result is not None:
            attributes["gen_ai.tool.call.result"] = event.result
    span = tracer.start_span(
        f"execute_tool {event.name}",
        context=parent,
        kind=SpanKind.INTERNAL,
        start_time=at(started),
        attributes=attributes,
    )
    if event.error is not None:
        kind = "ContractFailed" if event.contract else "interrupted" if event.error == "interrupted" else "ToolError"
        if event.contract:
            span.set_attribute("alloy_nb.tool.contract", event.contract)
        _failed(span, ErrorInfo(type=kind, message=event.error), capture=capture)
    span.end(end_time=at(started + event.duration_s))


def _retry_attributes(retry: RetryEvent) -> Attributes:
    attributes: Attributes = {
        "alloy_nb.retry.scope": retry.scope,
        "alloy_nb.retry.attempt": retry.attempt,
        "alloy_nb.retry.wait_s": retry.wait_s,
        "error.type": retry.error.type,
    }
    if retry.turn is not None:
        attributes["alloy_nb.turn"] = retry.turn
    return attributes


def _failed(span: Span, error: ErrorInfo, *, capture: bool) -> None:
    """Mark a span failed; the message only with `capture` (it may quote a reply or tool arguments)."""
    span.set_attribute("error.type", error.type)
    span.set_status(Status(StatusCode.ERROR, error.message if capture else error.type))


def _clock(epoch_ns: int) -> Callable[[float], int]:
    """Seconds since the trace began -> nanoseconds since the epoch."""

    def at(seconds: float) -> int:
        return epoch_ns + int(seconds * 1e9)

    return at


def _plain(value: Any) -> bool:
    """Whether an option can be an attribute value (a number, a string, or a list of strings)."""
    if isinstance(value, list):
        return bool(value) and all(isinstance(item, str) for item in value)
    return isinstance(value, (int, float, str)) and not isinstance(value, bool)
