"""`ask` and `@command`: the two ways to make a call."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, cast

from typing_extensions import Unpack

from ._call.batch import Job
from ._call.batch_result import BatchResult
from ._call.conversation import CallSpec
from ._call.drivers import run, run_async
from ._call.mapping import BatchOptions, arguments_of, mapped, mapped_async, plan_for, split_batch
from ._call.options import CallOptions, call_spec
from ._call.streaming import (
    AsyncTextStream,
    PendingAsyncTextStream,
    TextStream,
    stream,
    stream_async,
)
from ._config import Config
from ._outputs import output_spec
from ._tools import as_tools
from ._trace import Trace
from .errors import ConfigurationError


class Traced(NamedTuple):
    """A call's value together with its trace."""

    value: Any
    trace: Trace


class AskOptions(CallOptions, total=False):
    """`ask`'s keywords: what to ask for (`output`, default `str`; `tools`; `context`, rendered before
    the prompt as alloy-ai does) and every per-call setting (`CallOptions`)."""

    output: Any
    tools: Iterable[Callable[..., Any]] | None
    context: Mapping[str, Any] | None


class AskMapOptions(AskOptions, BatchOptions, total=False):
    """`ask.map`'s keywords: `ask`'s, and how the batch runs."""


class CommandMapOptions(CallOptions, BatchOptions, total=False):
    """A command's `map` keywords: per-call settings, and how the batch runs."""


def _asked(prompt: str, options: AskOptions, config: Config | None = None) -> CallSpec:
    """The call for `ask(prompt, **options)` (`config`: a map item's, resolved by the caller)."""
    settings: dict[str, Any] = dict(options)
    output, tools, context = settings.pop("output", str), settings.pop("tools", None), settings.pop("context", None)
    return call_spec(prompt, output, tools, cast(CallOptions, settings), context, config)


class Ask:
    """`ask(prompt, output=..., tools=..., model=..., api=...)` and its async, batch and streaming twins;
    every one takes the keywords of `AskOptions`."""

    def __call__(self, prompt: str, **options: Unpack[AskOptions]) -> Any:
        return run(_asked(prompt, options))[0]

    def traced(self, prompt: str, **options: Unpack[AskOptions]) -> Traced:
        """Like calling `ask`, returning `(value, trace)`."""
        return Traced(*run(_asked(prompt, options)))

    async def async_(self, prompt: str, **options: Unpack[AskOptions]) -> Any:
        return (await run_async(_asked(prompt, options)))[0]

    async def traced_async(self, prompt: str, **options: Unpack[AskOptions]) -> Traced:
        return Traced(*await run_async(_asked(prompt, options)))

    def map(self, prompts: Iterable[str], **options: Unpack[AskMapOptions]) -> BatchResult:
        """Ask every prompt, `concurrency` at a time per host (`hosts=` / `OLLAMA_HOSTS` for several);
        a `BatchResult` in input order, failures kept per item. Ctrl-C keeps what finished."""
        batch, asked = split_batch(options)
        call = cast(AskOptions, asked)
        return mapped(plan_for(self._job(call), _settings(call), batch), prompts, batch.get("engine"))

    async def map_async(self, prompts: Iterable[str], **options: Unpack[AskMapOptions]) -> BatchResult:
        """`await ask.map_async(prompts)`: `map` on the running event loop (on a Dask cluster with `engine=`)."""
        batch, asked = split_batch(options)
        call = cast(AskOptions, asked)
        return await mapped_async(plan_for(self._job(call), _settings(call), batch), prompts, batch.get("engine"))

    @staticmethod
    def _job(options: AskOptions) -> Job:
        as_tools(options.get("tools"))  # a bad tool or output type fails now, before any item runs
        output_spec(options.get("output", str))

        async def one(prompt: Any, config: Config) -> tuple[Any, Trace]:
            return await run_async(_asked(prompt, options, config))

        return one

    def stream(self, prompt: str, **options: Unpack[AskOptions]) -> TextStream:
        """Iterate over text pieces as they arrive; the stream's `.trace` records the call. With
        `tools=`, the tools run between turns and every turn's text streams (`.events()` shows them);
        with `output=`, the JSON streams, `.partial` is the value so far and `.value` the validated one."""
        return stream(_asked(prompt, options))

    def stream_async(self, prompt: str, **options: Unpack[AskOptions]) -> AsyncTextStream:
        """`async for piece in ask.stream_async(...)` (the tool calls of a turn run concurrently)."""
        return stream_async(_asked(prompt, options))


def _settings(options: AskOptions) -> CallOptions:
    """The per-call settings among `ask`'s keywords."""
    return cast(
        CallOptions, {key: value for key, value in options.items() if key not in ("output", "tools", "context")}
    )


ask = Ask()


class Command:
    """A function that returns a prompt, turned into a typed model call."""

    def __init__(
        self,
        func: Callable[..., Any],
        output: Any,
        tools: Iterable[Callable[..., Any]] | None,
        options: CallOptions,
    ) -> None:
        _check_prompt_annotation(func)
        functools.update_wrapper(self, func)
        self.func = func
        self.output = output
        self.tools = as_tools(tools)
        self.options = options
        output_spec(output)  # reject an output type pydantic cannot describe at decoration time

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.func)

    @property
    def name(self) -> str:
        return str(getattr(self.func, "__name__", "command"))

    def _spec(self, prompt: str) -> CallSpec:
        return call_spec(prompt, self.output, self.tools, self.options)

    def _prompt(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        if self.is_async:
            raise ConfigurationError(f"{self.name} is an async command; use `await {self.name}(...)`.")
        prompt: str = self.func(*args, **kwargs)
        return prompt

    async def _prompt_async(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        prompt = self.func(*args, **kwargs)
        text: str = await prompt if inspect.isawaitable(prompt) else prompt
        return text

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.is_async:
            return self.async_(*args, **kwargs)
        return run(self._spec(self._prompt(args, kwargs)))[0]

    def traced(self, *args: Any, **kwargs: Any) -> Traced:
        return Traced(*run(self._spec(self._prompt(args, kwargs))))

    async def async_(self, *args: Any, **kwargs: Any) -> Any:
        return (await run_async(self._spec(await self._prompt_async(args, kwargs))))[0]

    async def traced_async(self, *args: Any, **kwargs: Any) -> Traced:
        return Traced(*await run_async(self._spec(await self._prompt_async(args, kwargs))))

    def stream(self, *args: Any, **kwargs: Any) -> TextStream | PendingAsyncTextStream:
        """Text pieces as they arrive (a typed command's JSON, with `.partial` and `.value`): `for piece
        in cmd.stream(...)`, or for an async command (as in alloy-ai) `async for piece in cmd.stream(...)`."""
        if self.is_async:
            return PendingAsyncTextStream(lambda: self.stream_async(*args, **kwargs))
        return stream(self._spec(self._prompt(args, kwargs)))

    async def stream_async(self, *args: Any, **kwargs: Any) -> AsyncTextStream:
        """`stream = await cmd.stream_async(...)`, then `async for piece in stream`."""
        return stream_async(self._spec(await self._prompt_async(args, kwargs)))

    def map(self, items: Iterable[Any], **options: Unpack[CommandMapOptions]) -> BatchResult:
        """Call the command for every item (one argument, a tuple of arguments or a mapping of
        keyword arguments), with the keywords `ask.map` takes (`hosts=`, `engine=`, settings)."""
        batch, settings = split_batch(options)
        changed = self.with_options(**settings) if settings else self
        return mapped(plan_for(changed._job, changed.options, batch), items, batch.get("engine"))

    async def map_async(self, items: Iterable[Any], **options: Unpack[CommandMapOptions]) -> BatchResult:
        """`await cmd.map_async(items)`: `map` on the running event loop (on a Dask cluster with `engine=`)."""
        batch, settings = split_batch(options)
        changed = self.with_options(**settings) if settings else self
        return await mapped_async(plan_for(changed._job, changed.options, batch), items, batch.get("engine"))

    async def _job(self, item: Any, config: Config) -> tuple[Any, Trace]:
        args, kwargs = arguments_of(item)
        prompt = await self._prompt_async(args, kwargs)
        return await run_async(call_spec(prompt, self.output, self.tools, self.options, config=config))

    def with_options(self, **options: Unpack[CallOptions]) -> Command:
        """A copy with some settings changed, e.g. `cmd.with_options(model="ollama:qwen3:0.6b")`."""
        return Command(self.func, self.output, self.tools, {**self.options, **options})

    def __repr__(self) -> str:
        return f"<alloy_nb command {self.name} -> {output_spec(self.output).type_name}>"


def _check_prompt_annotation(func: Callable[..., Any]) -> None:
    """A command function returns its prompt: a return annotation other than `str` is a mistake."""
    try:
        returned = typing.get_type_hints(func).get("return")
    except Exception:  # unresolvable annotations: nothing to check
        return
    if returned is not None and returned is not str:
        shown = getattr(returned, "__name__", repr(returned))
        raise ConfigurationError(
            f"@command functions return the prompt, so they are annotated `-> str` (this one: -> {shown}); "
            f"say what the call returns with @command(output={shown})."
        )


def command(
    func: Callable[..., Any] | None = None,
    *,
    output: Any = str,
    tools: Iterable[Callable[..., Any]] | None = None,
    **options: Unpack[CallOptions],
) -> Any:
    """Decorate a prompt-returning function: `@command` or `@command(output=Invoice, tools=[add])`."""

    def wrap(target: Callable[..., Any]) -> Command:
        return Command(target, output, tools, options)

    return wrap(func) if func is not None else wrap
