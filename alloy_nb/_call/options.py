"""What a call takes besides its prompt, and the `CallSpec` built from it: settings, history, images."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypedDict

from .._config import Config, current
from .._images import images_of
from .._messages import Message, history_message
from .._outputs import output_spec
from .._tools import as_tools
from ..errors import ConfigurationError
from .conversation import CallSpec


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
    logprobs: bool
    top_logprobs: int
    constrained: bool
    parallel_tool_calls: bool
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
    api_key: str
    default_system: str
    parallel_tools_max: int
    api: str
    history: Sequence[Mapping[str, str]]
    images: Sequence[Any]


def call_spec(
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
