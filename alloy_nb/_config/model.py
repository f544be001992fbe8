"""The settings of one call: the `Config` model (the one list of settings), model strings and thinking."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, SecretStr, field_validator
from pydantic_core import PydanticUndefined

from .._choices import API_CHOICES, MODEL_PREFIX, Strategy
from ..errors import ConfigurationError
from .host_url import DEFAULT_HOST, connection, normalize_host, redact_host

# The settings a request is built from (besides the model and the strategy): traced, and replayed.
REQUEST_SETTINGS = (
    "system",
    "temperature",
    "max_tokens",
    "think",
    "context_length",
    "keep_alive",
    "logprobs",
    "top_logprobs",
    "constrained",
    "parallel_tool_calls",
    "extra",
)


def setting(
    default: Any = PydanticUndefined, *, help: str, env: str | None = None, alias: str | None = None, **field: Any
) -> Any:
    """A `Config` field with its one-line description and the environment variable that sets it.

    `env` is the documented variable (alloy-ai's name where alloy-ai has one); `alias` is an older
    name that still works when `env` is unset. Other keywords go to `pydantic.Field`."""
    names: list[JsonValue] = [name for name in (env, alias) if name]
    return Field(default, description=help, json_schema_extra={"env": names} if names else None, **field)


class Config(BaseModel):
    """The effective settings of one call. Immutable; `current(**changes)` builds a changed one.

    The one list of settings: the environment variables and the README's table derive from it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = setting("ollama:smollm2:135m", env="ALLOY_MODEL", help="The model, as `ollama:<name>`.")
    temperature: float | None = setting(
        None, allow_inf_nan=False, env="ALLOY_TEMPERATURE", help="Sampling temperature (none: the model's own)."
    )
    max_tokens: int | None = setting(None, gt=0, env="ALLOY_MAX_TOKENS", help="Most tokens per reply (none: no limit).")
    think: bool | str | None = setting(
        None,
        env="ALLOY_THINK",
        help="Thinking: true, false or a level (low, medium, high, max); none: the model's default.",
    )
    context_length: int | None = setting(
        None,
        gt=0,
        env="ALLOY_CONTEXT_LENGTH",
        help="Context window in tokens (Ollama's `num_ctx`; native only); none: the server's default.",
    )
    keep_alive: str | float | None = setting(
        None,
        env="ALLOY_KEEP_ALIVE",
        help='How long the model stays loaded after a call ("10m", seconds, 0 unloads; native only).',
    )
    logprobs: bool | None = setting(
        None,
        env="ALLOY_LOGPROBS",
        help="Ask for each reply token's log probability, kept in the trace (`trace.tokens()`).",
    )
    top_logprobs: int | None = setting(
        None,
        ge=0,
        le=20,
        env="ALLOY_TOP_LOGPROBS",
        help="The likeliest alternatives (0-20) kept for each reply token; implies `logprobs`.",
    )
    constrained: bool | None = setting(
        None,
        env="ALLOY_CONSTRAINED",
        help="False: the output schema goes in the prompt only (no `format`, `response_format` or `text.format`) "
        "and the embedded server forces no tool-call grammar (`_tool_grammar: false`); none: constrained.",
    )
    parallel_tool_calls: bool | None = setting(
        None,
        env="ALLOY_PARALLEL_TOOL_CALLS",
        help="False: one tool call per turn (sent as `parallel_tool_calls: false`; extra calls are answered "
        "'not run'); none: the server's default.",
    )
    system: str | None = setting(
        None, env="ALLOY_DEFAULT_SYSTEM", alias="ALLOY_SYSTEM", help="System prompt sent before every conversation."
    )
    max_tool_turns: int = setting(
        10, ge=0, env="ALLOY_MAX_TOOL_TURNS", help="Tool-calling rounds before `ToolLoopLimitExceeded`."
    )
    max_tool_calls: int = setting(
        16, ge=1, env="ALLOY_MAX_TOOL_CALLS", help="Tool calls run per turn; the model is told about the rest."
    )
    auto_finalize_missing_output: bool = setting(
        True,
        env="ALLOY_AUTO_FINALIZE_MISSING_OUTPUT",
        alias="ALLOY_AUTO_FINALIZE",
        help="When the final reply misses the output schema, ask once more without tools.",
    )
    retry: int = setting(
        1, ge=1, env="ALLOY_RETRY", help="Attempts per call in all (alloy-ai's `retry`): a failed call runs again."
    )
    retry_on: type[BaseException] | None = setting(
        None, help="Retry only this exception type; none: any failure but a bad setting, a 4xx or a missing model."
    )
    retry_backoff: float = setting(
        0.5, ge=0, env="ALLOY_RETRY_BACKOFF", help="Seconds before the first retry, doubling each time, with jitter."
    )
    retry_backoff_max: float = setting(
        30.0, ge=0, env="ALLOY_RETRY_BACKOFF_MAX", help="The longest wait between two attempts, in seconds."
    )
    transient_retries: int = setting(
        2,
        ge=0,
        env="ALLOY_TRANSIENT_RETRIES",
        help="Extra tries of one request after a dropped connection, a 502/503/504 or a timeout.",
    )
    extra: dict[str, Any] = setting(
        default_factory=dict,
        env="ALLOY_EXTRA_JSON",
        help="`ollama_api` (the strategy) and `ollama_options`; a JSON object in the environment.",
    )
    host: str = setting(DEFAULT_HOST, env="OLLAMA_HOST", help="The Ollama server, read as Ollama reads `OLLAMA_HOST`.")
    hosts: tuple[str, ...] = setting(
        (),
        env="OLLAMA_HOSTS",
        help="Servers `map` spreads a batch over (comma-separated in the environment); none: `host` alone.",
    )
    timeout: float = setting(120.0, gt=0, env="ALLOY_TIMEOUT", help="Seconds to wait for the server to answer.")
    tool_concurrency: int = setting(4, ge=1, env="ALLOY_PARALLEL_TOOLS_MAX", help="Tools run at once per turn (async).")
    tool_timeout: float | None = setting(
        None, gt=0, env="ALLOY_TOOL_TIMEOUT", help="Seconds a tool may run (none: no limit)."
    )
    trace_max_chars: int = setting(
        200_000, ge=100, env="ALLOY_TRACE_MAX_CHARS", help="Longer strings are cut in traces, saying so."
    )
    trace_history: int = setting(
        100, ge=0, env="ALLOY_TRACE_HISTORY", help="Traces kept for `last_trace()` and `recent_traces()`."
    )
    log: bool = setting(True, env="ALLOY_LOG", help="Write every call to the SQLite call log (`alloy_nb.logs`).")
    log_db: str | None = setting(
        None, env="ALLOY_LOG_DB", help="The call log's SQLite file; none: `calls.db` in the user data directory."
    )
    api_key: SecretStr | None = setting(
        None,
        env="OLLAMA_API_KEY",
        repr=False,
        help="A key for a host that wants one, such as https://ollama.com: sent as `Authorization: Bearer`, "
        "never traced, logged or shown.",
    )
    # Never from the environment: headers carry secrets (a proxy's Authorization).
    headers: dict[str, str] = setting(
        default_factory=dict,
        repr=False,
        help="HTTP headers for every request (e.g. a proxy's Authorization); never traced.",
    )

    @field_validator("model")
    @classmethod
    def _check_model(cls, value: str) -> str:
        model_name(value)
        return value

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        return normalize_host(value)

    @field_validator("hosts", mode="before")
    @classmethod
    def _check_hosts(cls, value: Any) -> tuple[str, ...]:
        listed = value.split(",") if isinstance(value, str) else list(value)
        return tuple(normalize_host(str(host).strip()) for host in listed if str(host).strip())

    @field_validator("think", mode="before")
    @classmethod
    def _check_think(cls, value: Any) -> bool | str | None:
        return think_setting(value)

    @field_validator("keep_alive", mode="before")
    @classmethod
    def _check_keep_alive(cls, value: Any) -> Any:
        """Seconds given as text (ALLOY_KEEP_ALIVE=300) are a number; Ollama reads "300" as a bad duration."""
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return value.strip()
        return value

    @field_validator("headers")
    @classmethod
    def _check_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not name.strip() or any(mark in name for mark in ":\r\n\0 ") or any(c in text for c in "\r\n\0"):
                raise ConfigurationError(  # the value is never shown: it may be a secret
                    f"Header {name!r} cannot be sent: header names are single words without ':', and "
                    "neither names nor values may contain a line break or NUL."
                )
        return value

    @field_validator("extra")
    @classmethod
    def _check_extra(cls, value: dict[str, Any]) -> dict[str, Any]:
        api = value.get("ollama_api", "auto")
        if api not in API_CHOICES:
            close = difflib.get_close_matches(str(api), API_CHOICES, n=1)
            raise ConfigurationError(
                f"extra['ollama_api'] is {api!r}; allowed values are "
                f"{', '.join(map(repr, API_CHOICES[:-1]))} or {API_CHOICES[-1]!r}."
                + (f" Did you mean {close[0]!r}?" if close else "")
            )
        options = value.get("ollama_options", {})
        if not isinstance(options, Mapping):
            raise ConfigurationError(
                "extra['ollama_options'] must be a dict of Ollama options, e.g. {'num_ctx': 4096}."
            )
        return value

    def request_settings(self) -> dict[str, Any]:
        """The settings that shape what a call sends, those that are set: the trace keeps them, and a
        replay sends them again."""
        return dict(self._request_settings)

    @functools.cached_property
    def _request_settings(self) -> dict[str, Any]:  # worked out once: every call's trace keeps them
        values = {name: getattr(self, name) for name in REQUEST_SETTINGS}
        return {name: value for name, value in values.items() if value is not None and value != {}}

    @property
    def base_url(self) -> str:
        """The host URL without credentials: what the SDKs are given, so no log line shows a password."""
        return self.connection()[0]

    @property
    def request_headers(self) -> dict[str, str]:
        """The headers every request carries: the configured ones, plus `Authorization: Basic …` from
        `user:password@` in the host unless an Authorization header is configured (that one wins)."""
        return dict(self.connection()[1])

    def connection(self, host: str | None = None) -> tuple[str, tuple[tuple[str, str], ...]]:
        """The URL without credentials and the headers every request to `host` (default: the configured
        one) carries, credentials and API key included (see `host_url.connection`)."""
        key = self.api_key.get_secret_value() if self.api_key is not None else None
        return connection(host or self.host, self.headers, key)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Config:
        """A copy (with `update` applied) that works out its derived values afresh."""
        copied = super().model_copy(update=update, deep=deep)
        for name in _DERIVED:
            copied.__dict__.pop(name, None)
        return copied

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, redact_host(value) if name == "host" else value

    @functools.cached_property
    def model_name(self) -> str:
        """The model as the server knows it: `ollama:llama3.1:8b` -> `llama3.1:8b`."""
        return model_name(self.model)

    @property
    def strategy(self) -> Strategy:
        """`extra['ollama_api']` wins; otherwise gpt-oss models use openai_chat, all others native."""
        api = self.extra.get("ollama_api", "auto")
        if api != "auto":
            return api  # type: ignore[no-any-return]
        return "openai_chat" if "gpt-oss" in self.model_name else "native"


_DERIVED = ("model_name", "_request_settings")  # worked out from the settings once per config object

THINK_LEVELS = ("low", "medium", "high", "max")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def think_setting(value: Any) -> bool | str | None:
    """`think` as given in code or in ALLOY_THINK: True, False, a level, or None.

    >>> think_setting("TRUE"), think_setting("0"), think_setting("High"), think_setting(None)
    (True, False, 'high', None)
    """
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    if text in THINK_LEVELS:
        return text
    raise ConfigurationError(
        f"think={value!r} is not a thinking setting; use True, False or one of {', '.join(THINK_LEVELS)}."
    )


def model_name(model: str) -> str:
    """Strip the `ollama:` prefix, or explain what a valid model string looks like."""
    if not isinstance(model, str) or not model.startswith(MODEL_PREFIX) or not model[len(MODEL_PREFIX) :].strip():
        raise ConfigurationError(
            f"Model {model!r} is not an Ollama model string. Use 'ollama:<model>', "
            "for example 'ollama:llama3.1:8b' or 'ollama:smollm2:135m'."
        )
    return model[len(MODEL_PREFIX) :].strip()
