"""`ask` and `@command`: the two ways to make a call."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, TypedDict

from typing_extensions import Unpack

from .call.batch import DEFAULT_PER_HOST, BatchPlan, Job, OnError, run_batch, run_batch_async
from .call.batch_result import BatchResult
from .call.conversation import CallSpec
from .call.drivers import run, run_async
from .call.streaming import (
    AsyncTextStream,
    PendingAsyncTextStream,
    TextStream,
    check_streamable,
    stream,
    stream_async,
)
from .config import Config, current
from .errors import ConfigurationError
from .images import images_of
from .messages import Message, history_message
from .outputs import output_spec
from .tools import as_tools
from .trace import Trace


class CallOptions(TypedDict, total=False):
    """Per-call settings; each overrides `settings()`, `configure()` and the environment.

    Every `Config` field, alloy-ai's names for two of them (`default_system`, `parallel_tools_max`),
    plus the call-only `api`, `history` (earlier exchanges, `{"role", "content"}` dicts, sent
    before the prompt) and `images` (paths, bytes or PIL images, sent with the prompt). Written out for type checkers; tests/unit/test_settings_agree.py fails when
    it and `Config` disagree."""

    model: str
    temperature: float
    max_tokens: int
    think: bool | str
    context_length: int
    keep_alive: str | float
    system: str
    max_tool_turns: int
    max_tool_calls: int
    auto_finalize_missing_output: bool
    retry: int
    retry_on: type[BaseException]
    retry_backoff: float
    retry_backoff_max: float
    transient_retries: int
    extra: dict[str, Any]
    host: str
    hosts: Sequence[str]
    timeout: float
    tool_concurrency: int
    tool_timeout: float
    trace_max_chars: int
    trace_history: int
    log: bool
    log_db: str
    headers: dict[str, str]
    default_system: str
    parallel_tools_max: int
    api: str
    history: Sequence[Mapping[str, str]]
    images: Sequence[Any]


class Traced(NamedTuple):
    """A call's value together with its trace."""

    value: Any
    trace: Trace


def _spec(
    prompt: str,
    output: Any,
    tools: Iterable[Callable[..., Any]] | None,
    options: CallOptions,
    context: Mapping[str, Any] | None = None,
    config: Config | None = None,
) -> CallSpec:
    """The call: with `config` when given (a `map` item's, resolved by the caller), else `options` over the layers."""
    if not isinstance(prompt, str):
        raise ConfigurationError(f"The prompt must be a string, got {type(prompt).__name__}.")
    if context:
        prompt = with_context(prompt, context)
    settings: dict[str, Any] = dict(options)
    history = [_history_message(m) for m in settings.pop("history", None) or []]
    images = images_of(settings.pop("images", None))
    return CallSpec(
        prompt=prompt,
        output=output_spec(output),
        tools=as_tools(tools),
        config=config if config is not None else current(**settings),
        history=history,
        images=images,
    )


def with_context(prompt: str, context: Mapping[str, Any]) -> str:
    """The prompt with `context=` rendered before it, as alloy-ai renders it.

    >>> print(with_context("Summarise.", {"topic": "tides"}))
    Context: {'topic': 'tides'}
    <BLANKLINE>
    Task: Summarise.
    """
    if not isinstance(context, Mapping):
        raise ConfigurationError(f"context= takes a mapping (e.g. a dict), got {type(context).__name__}.")
    return f"Context: {dict(context)}\n\nTask: {prompt}"


def _history_message(message: Mapping[str, str]) -> Message:
    role, content = message.get("role"), message.get("content")
    if role not in ("user", "assistant", "system") or not isinstance(content, str):
        raise ConfigurationError(
            f"history entries are {{'role': 'user'|'assistant'|'system', 'content': str}}, got {dict(message)!r}."
        )
    return history_message(role, content)


def _plan(job: Job, options: CallOptions, concurrency: int, on_error: OnError, progress: bool) -> BatchPlan:
    """How `map` runs; every item gets the settings resolved here (a bad one fails now; Dask workers get them)."""
    settings = {key: value for key, value in options.items() if key not in ("history", "images")}
    return BatchPlan(job, current(**settings), concurrency, on_error, progress)


def _mapped(plan: BatchPlan, items: Iterable[Any], engine: Any) -> BatchResult:
    result = BatchResult.empty(list(items))
    if engine is not None:
        from .call.dask import run_on_cluster

        result.rerun = lambda again, retry_failed: run_on_cluster(
            plan, engine, again, _rerun_indexes(again, retry_failed)
        )
        return run_on_cluster(plan, engine, result, range(len(result)))
    result.rerun = lambda again, retry_failed: run_batch(plan, again, _rerun_indexes(again, retry_failed))
    return run_batch(plan, result, range(len(result)))


async def _mapped_async(plan: BatchPlan, items: Iterable[Any]) -> BatchResult:
    result = BatchResult.empty(list(items))
    result.rerun = lambda again, retry_failed: run_batch(plan, again, _rerun_indexes(again, retry_failed))
    return await run_batch_async(plan, result, range(len(result)))


def _rerun_indexes(result: BatchResult, retry_failed: bool) -> list[int]:
    failed = [slot.index for slot in result.failed] if retry_failed else []
    for index in failed:
        result.slots[index] = None
    return sorted([*result.pending])


def _arguments(item: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A `cmd.map` item as call arguments: a tuple is positional arguments, a mapping keyword
    arguments, anything else the one argument."""
    if isinstance(item, tuple):
        return item, {}
    if isinstance(item, Mapping):
        return (), dict(item)
    return (item,), {}


class Ask:
    """`ask(prompt, output=..., tools=..., model=..., api=...)` and its async and streaming twins."""

    def __call__(
        self,
        prompt: str,
        *,
        output: Any = str,
        tools: Iterable[Callable[..., Any]] | None = None,
        context: Mapping[str, Any] | None = None,
        **options: Unpack[CallOptions],
    ) -> Any:
        return run(_spec(prompt, output, tools, options, context))[0]

    def traced(
        self,
        prompt: str,
        *,
        output: Any = str,
        tools: Iterable[Callable[..., Any]] | None = None,
        context: Mapping[str, Any] | None = None,
        **options: Unpack[CallOptions],
    ) -> Traced:
        """Like calling `ask`, returning `(value, trace)`."""
        return Traced(*run(_spec(prompt, output, tools, options, context)))

    async def async_(
        self,
        prompt: str,
        *,
        output: Any = str,
        tools: Iterable[Callable[..., Any]] | None = None,
        context: Mapping[str, Any] | None = None,
        **options: Unpack[CallOptions],
    ) -> Any:
        return (await run_async(_spec(prompt, output, tools, options, context)))[0]

    async def traced_async(
        self,
        prompt: str,
        *,
        output: Any = str,
        tools: Iterable[Callable[..., Any]] | None = None,
        context: Mapping[str, Any] | None = None,
        **options: Unpack[CallOptions],
    ) -> Traced:
        return Traced(*await run_async(_spec(prompt, output, tools, options, context)))

    def map(
        self,
        prompts: Iterable[str],
        *,
        output: Any = str,
        tools: Iterable[Callable[..., Any]] | None = None,
        context: Mapping[str, Any] | None = None,
        concurrency: int = DEFAULT_PER_HOST,
        on_error: OnError = "collect",
        progress: bool = True,
        engine: Any = None,
        **options: Unpack[CallOptions],
    ) -> BatchResult:
        """Ask every prompt, `concurrency` at a time per host (`hosts=` / `OLLAMA_HOSTS` for several);
        a `BatchResult` in input order, failures kept per item. Ctrl-C keeps what finished."""
        return _mapped(
            _plan(self._job(output, tools, context, options), options, concurrency, on_error, progress), prompts, engine
        )

    async def map_async(
        self,
        prompts: Iterable[str],
        *,
        output: Any = str,
        tools: Iterable[Callable[..., Any]] | None = None,
        context: Mapping[str, Any] | None = None,
        concurrency: int = DEFAULT_PER_HOST,
        on_error: OnError = "collect",
        progress: bool = True,
        **options: Unpack[CallOptions],
    ) -> BatchResult:
        """`await ask.map_async(prompts)`: `map` on the running event loop."""
        return await _mapped_async(
            _plan(self._job(output, tools, context, options), options, concurrency, on_error, progress), prompts
        )

    @staticmethod
    def _job(
        output: Any, tools: Iterable[Callable[..., Any]] | None, context: Mapping[str, Any] | None, options: CallOptions
    ) -> Job:
        checked = as_tools(tools)
        output_spec(output)

        async def one(prompt: Any, config: Config) -> tuple[Any, Trace]:
            return await run_async(_spec(prompt, output, checked, options, context, config))

        return one

    def stream(
        self,
        prompt: str,
        *,
        tools: Iterable[Callable[..., Any]] | None = None,
        context: Mapping[str, Any] | None = None,
        **options: Unpack[CallOptions],
    ) -> TextStream:
        """Iterate over text pieces as they arrive; the stream's `.trace` records the call.
        (`tools=` is accepted as in alloy-ai, and refused: streaming is text only.)"""
        return stream(_spec(prompt, str, tools, options, context))

    def stream_async(
        self,
        prompt: str,
        *,
        tools: Iterable[Callable[..., Any]] | None = None,
        context: Mapping[str, Any] | None = None,
        **options: Unpack[CallOptions],
    ) -> AsyncTextStream:
        """`async for piece in ask.stream_async(...)`."""
        return stream_async(_spec(prompt, str, tools, options, context))


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
        return _spec(prompt, self.output, self.tools, self.options)

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
        """Text pieces as they arrive: `for piece in cmd.stream(...)`, or for an async command (as in
        alloy-ai) `async for piece in cmd.stream(...)`."""
        if self.is_async:
            check_streamable(self._spec(""))  # refuse tools or typed output now, as the sync form does
            return PendingAsyncTextStream(lambda: self.stream_async(*args, **kwargs))
        return stream(self._spec(self._prompt(args, kwargs)))

    async def stream_async(self, *args: Any, **kwargs: Any) -> AsyncTextStream:
        """`stream = await cmd.stream_async(...)`, then `async for piece in stream`."""
        return stream_async(self._spec(await self._prompt_async(args, kwargs)))

    def map(
        self,
        items: Iterable[Any],
        *,
        concurrency: int = DEFAULT_PER_HOST,
        on_error: OnError = "collect",
        progress: bool = True,
        engine: Any = None,
    ) -> BatchResult:
        """Call the command for every item (one argument, a tuple of arguments or a mapping of
        keyword arguments), as `ask.map` does."""
        return _mapped(_plan(self._job, self.options, concurrency, on_error, progress), items, engine)

    async def map_async(
        self,
        items: Iterable[Any],
        *,
        concurrency: int = DEFAULT_PER_HOST,
        on_error: OnError = "collect",
        progress: bool = True,
    ) -> BatchResult:
        """`await cmd.map_async(items)`: `map` on the running event loop."""
        return await _mapped_async(_plan(self._job, self.options, concurrency, on_error, progress), items)

    async def _job(self, item: Any, config: Config) -> tuple[Any, Trace]:
        args, kwargs = _arguments(item)
        prompt = await self._prompt_async(args, kwargs)
        return await run_async(_spec(prompt, self.output, self.tools, self.options, config=config))

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
