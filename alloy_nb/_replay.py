"""Send a logged call again, with changes, and put the two side by side.

The call is rebuilt from the trace's neutral record (the conversation its first request began
with, the settings it set and the tool schemas it offered), never from a wire body.

A trace is untrusted input (a shared file, a log row anyone with the file could write), so it
never picks where the replay goes or what runs: the replay goes to the configured host unless
the caller passes `host=`, and a logged tool name binds only to an alloy_nb tool (made by `@tool`,
found in `namespace` or passed in `tools`). Every other tool answers with its logged results, in
order, and the replay view says which did.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict

from ._commands import ask
from ._config import REQUEST_SETTINGS
from ._messages import AssistantMessage, UserMessage
from ._tools import Tool, as_tools
from ._trace import Trace
from ._views.compare import replay_html
from .errors import AlloyError, ConfigurationError


@dataclass
class Replay:
    """A logged call and its replay: `.value` of the replay, both traces, and an HTML diff."""

    original: Trace
    replayed: Trace
    value: Any = None
    error: AlloyError | None = None
    logged_tools: tuple[str, ...] = ()  # tools that answered with their logged results (none bound)

    @property
    def same_reply(self) -> bool:
        return self.original.reply_text() == self.replayed.reply_text()

    def _repr_html_(self) -> str:
        titles = (
            f"logged · {self.original.model} · {self.original.strategy}",
            f"replayed · {self.replayed.model} · {self.replayed.strategy}",
        )
        return replay_html(self.notes, self.original, self.replayed, titles)

    @property
    def notes(self) -> list[str]:
        """What the replay did differently from the logged call, beyond the changes asked for."""
        notes = []
        if self.original.host != self.replayed.host:
            notes.append(
                f"The logged call went to {self.original.host}; the replay went to {self.replayed.host}. A replay "
                "goes to the configured host: pass host=... to send it elsewhere."
            )
        if self.logged_tools:
            notes.append(
                f"{', '.join(self.logged_tools)} answered with the logged results, as no alloy_nb tool of that name "
                "was given: pass tools=[...] (functions made with @tool) to run them."
            )
        return notes

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
    tools: Sequence[Tool | Callable[..., Any]] = (),
    **changes: Any,
) -> Replay:
    """Send `trace`'s call again with `changes` (model=, api=, system=, think=, temperature=, host=, ...).

    It goes to the configured host unless `host=` is given. A logged tool runs only where an alloy_nb
    tool of its name is in `tools` or `namespace`; the others answer with their logged results."""
    call = logged_call(trace)
    if trace.images and "images" not in changes:
        raise ConfigurationError(
            "The logged call sent images, which the log keeps as digests only; pass images=[...] to replay it."
        )
    options = {**call.options, "model": trace.model, "api": trace.strategy, **changes}
    system = options.pop("system", call.system)
    kept = {key: value for key, value in options.items() if value is not None}
    given = _tools_by_name(namespace or {}, tools)
    bound = [_tool(spec, trace, given) for spec in call.tool_specs]
    logged_tools = tuple(tool.name for tool in bound if isinstance(tool, LoggedTool))
    try:
        value, replayed = ask.traced(
            call.prompt,
            output=_output(trace, output, namespace or {}),
            tools=bound or None,
            history=call.history,
            **({"system": system} if system is not None else {}),
            **kept,
        )
    except AlloyError as error:
        if error.trace is None:
            raise
        return Replay(trace, error.trace, error=error, logged_tools=logged_tools)
    return Replay(trace, replayed, value, logged_tools=logged_tools)


def logged_call(trace: Trace) -> RebuiltCall:
    """The call rebuilt from its record: the conversation it began with, and the settings it set."""
    messages = trace.first_messages()
    if not messages:
        raise ConfigurationError(
            f"The logged call {trace.id} has no conversation to replay: it never sent a request, or it was "
            "logged by an alloy_nb older than the neutral record (0.3)."
        )
    prompt = messages[-1]
    if not isinstance(prompt, UserMessage):
        raise ConfigurationError(f"The logged call {trace.id} does not end its first request with a prompt.")
    history = [
        {"role": m.role, "content": m.text} for m in messages[:-1] if isinstance(m, (UserMessage, AssistantMessage))
    ]
    # only the settings that shape a request: a crafted trace must not pick the host, headers or logging
    options = {name: value for name, value in trace.request_settings.items() if name in REQUEST_SETTINGS}
    system = options.pop("system", None)
    return RebuiltCall(prompt.text, system, history, options, list(trace.tool_schemas))


def _output(trace: Trace, output: Any, namespace: Mapping[str, Any]) -> Any:
    if output is not None:
        return output
    if trace.output_type == "str":
        return str
    found = namespace.get(trace.output_type)
    if not isinstance(found, type):  # a class only: the trace must not pick a function to call
        raise ConfigurationError(
            f"The logged call returned {trace.output_type}; pass output={trace.output_type} (or the notebook's "
            "namespace) to replay it with that type."
        )
    return found


def _tools_by_name(namespace: Mapping[str, Any], tools: Sequence[Tool | Callable[..., Any]]) -> dict[str, Tool]:
    """The tools a replay may run: alloy_nb tools in the namespace, then the ones passed (which win)."""
    found = {value.name: value for value in list(namespace.values()) if isinstance(value, Tool)}
    return {**found, **{tool.name: tool for tool in as_tools(list(tools))}}


def _tool(function: Any, trace: Trace, given: Mapping[str, Tool]) -> Tool:
    """The tool a replay offers for one of the trace's tool schemas (a trace is data from anywhere)."""
    parameters = function.get("parameters") if isinstance(function, dict) else None
    if not isinstance(function, dict) or not isinstance(parameters or {}, dict):
        raise ConfigurationError(
            f"The trace's tool schema {str(function)[:80]!r} is not a function with an object of parameters; "
            "the trace cannot be replayed."
        )
    name = str(function.get("name"))
    if name in given:
        return given[name]
    return LoggedTool(
        func=_logged_results(trace, name),
        name=name,
        description=str(function.get("description") or ""),
        arguments_model=_AnyArguments,
        logged_parameters=dict(parameters or {"type": "object", "properties": {}}),
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
