"""Send a logged call again, with changes, and put the two side by side.

The call is rebuilt from its first request as it went on the wire (either API): system prompt,
earlier messages, prompt, tool schemas and options. Tools are found by name in `namespace` (a
notebook's variables); a tool that is gone answers with its logged results instead, in order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..commands import ask
from ..config import current
from ..errors import AlloyError, ConfigurationError
from ..outputs import INSTRUCTION_OPENING
from ..tools import Tool, as_tools
from ..trace import Trace
from ..trace.diff import diff_html, reply_text
from ..trace.html import comparison_html

_NATIVE_OPTIONS = {"temperature": "temperature", "num_predict": "max_tokens", "num_ctx": "context_length"}


@dataclass
class Replay:
    """A logged call and its replay: `.value` of the replay, both traces, and an HTML diff."""

    original: Trace
    replayed: Trace
    value: Any = None
    error: AlloyError | None = None

    @property
    def same_reply(self) -> bool:
        return reply_text(self.original) == reply_text(self.replayed)

    def _repr_html_(self) -> str:
        titles = (
            f"logged · {self.original.model} · {self.original.strategy}",
            f"replayed · {self.replayed.model} · {self.replayed.strategy}",
        )
        return comparison_html(self.original, self.replayed, *titles) + diff_html(self.original, self.replayed)

    def __repr__(self) -> str:
        state = "the same reply" if self.same_reply else "a different reply"
        return f"<Replay of {self.original.id} as {self.replayed.id}: {self.replayed.status}, {state}>"


@dataclass(frozen=True)
class RebuiltCall:
    """The parts of a logged call that `ask` takes again."""

    prompt: str
    system: str | None
    history: list[dict[str, str]]
    options: dict[str, Any]
    tool_specs: list[dict[str, Any]] = field(default_factory=list)


def replay(
    trace: Trace,
    *,
    namespace: Mapping[str, Any] | None = None,
    output: Any = None,
    **changes: Any,
) -> Replay:
    """Send `trace`'s call again with `changes` (model=, api=, system=, think=, temperature=, ...)."""
    call = logged_call(trace)
    if trace.images and "images" not in changes:
        raise ConfigurationError(
            "The logged call sent images, which the log keeps as digests only; pass images=[...] to replay it."
        )
    options = {**call.options, "model": trace.model, "api": trace.strategy, "host": _host(trace), **changes}
    system = options.pop("system", call.system)
    kept = {key: value for key, value in options.items() if value is not None}
    tools = [_tool(spec, trace, namespace or {}) for spec in call.tool_specs]
    try:
        value, replayed = ask.traced(
            call.prompt,
            output=_output(trace, output, namespace or {}),
            tools=tools or None,
            history=call.history,
            **({"system": system} if system is not None else {}),
            **kept,
        )
    except AlloyError as error:
        if error.trace is None:
            raise
        return Replay(trace, error.trace, error=error)
    return Replay(trace, replayed, value)


def logged_call(trace: Trace) -> RebuiltCall:
    """The call rebuilt from its first request body."""
    if not trace.requests or not isinstance(trace.requests[0].body, dict):
        raise ConfigurationError(f"The logged call {trace.id} never sent a request, so there is nothing to replay.")
    body = trace.requests[0].body
    messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
    sent_system = next((_text(m.get("content")) for m in messages[:1] if m.get("role") == "system"), None)
    rest = messages[1:] if sent_system is not None else messages
    system = _without_output_instruction(sent_system)
    if not rest or rest[-1].get("role") != "user":
        raise ConfigurationError(f"The logged call {trace.id} does not end its first request with a prompt.")
    history = [{"role": str(m["role"]), "content": _text(m.get("content"))} for m in rest[:-1]]
    options = _native_options(body) if trace.strategy == "native" else _openai_options(body)
    return RebuiltCall(_text(rest[-1].get("content")), system, history, options, list(body.get("tools") or []))


def _without_output_instruction(system: str | None) -> str | None:
    """The user's system prompt, without the schema sentence a typed call adds to it."""
    if system is None or system.startswith(INSTRUCTION_OPENING):
        return None
    return system.split("\n\n" + INSTRUCTION_OPENING, 1)[0]


def _native_options(body: dict[str, Any]) -> dict[str, Any]:
    sent = body.get("options") or {}
    options = {ours: sent[theirs] for theirs, ours in _NATIVE_OPTIONS.items() if theirs in sent}
    for key in ("think", "keep_alive"):
        if body.get(key) is not None:
            options[key] = body[key]
    return options


def _openai_options(body: dict[str, Any]) -> dict[str, Any]:
    options = {key: body[key] for key in ("temperature", "max_tokens") if body.get(key) is not None}
    effort = body.get("reasoning_effort")
    if effort is not None:
        options["think"] = False if effort == "none" else effort
    return options


def _text(content: Any) -> str:
    """A message's text (openai_chat content parts joined)."""
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def _host(trace: Trace) -> str:
    """The logged host, unless its credentials were redacted from the log (then the configured one)."""
    return current().host if "***@" in trace.host else trace.host


def _output(trace: Trace, output: Any, namespace: Mapping[str, Any]) -> Any:
    if output is not None:
        return output
    if trace.output_type == "str":
        return str
    found = namespace.get(trace.output_type)
    if found is None:
        raise ConfigurationError(
            f"The logged call returned {trace.output_type}; pass output={trace.output_type} (or the notebook's "
            "namespace) to replay it with that type."
        )
    return found


def _tool(spec: dict[str, Any], trace: Trace, namespace: Mapping[str, Any]) -> Tool:
    function = spec.get("function", spec)
    name = str(function.get("name"))
    found = namespace.get(name)
    if isinstance(found, Tool):
        return found
    if callable(found):
        return as_tools([found])[0]
    return LoggedTool(
        func=_logged_results(trace, name),
        name=name,
        description=str(function.get("description") or ""),
        arguments_model=_AnyArguments,
        logged_parameters=dict(function.get("parameters") or {"type": "object", "properties": {}}),
    )


class _AnyArguments(BaseModel):
    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class LoggedTool(Tool):
    """A tool that is gone: the model sees its logged schema, and each call gets the next logged result."""

    logged_parameters: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @cached_property
    def parameters(self) -> dict[str, Any]:
        return self.logged_parameters


def _logged_results(trace: Trace, name: str) -> Any:
    results: Iterator[str] = itertools.cycle(
        [
            event.result if event.result is not None else f"Error: {event.error}"
            for event in trace.tool_events
            if event.name == name
        ]
        or [f"(the tool {name} is not available in this replay)"]
    )

    def logged(**_: Any) -> str:
        return next(results)

    logged.__name__ = name
    return logged
