"""Configuration: defaults, environment, `configure()`, `settings()` scopes and per-call overrides.

Precedence, highest first: per-call arguments > `settings(...)` scopes > `configure(...)`
> environment > built-in defaults. Also: model strings and strategy routing.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, NamedTuple, cast, get_origin
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .choices import API_CHOICES, Strategy
from .errors import ConfigurationError

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_PORT = 11434
MODEL_PREFIX = "ollama:"
# The settings a request is built from (besides the model and the strategy): traced, and replayed.
REQUEST_SETTINGS = ("system", "temperature", "max_tokens", "think", "context_length", "keep_alive", "extra")


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
        None, env="ALLOY_TEMPERATURE", help="Sampling temperature (none: the model's own)."
    )
    max_tokens: int | None = setting(None, gt=0, env="ALLOY_MAX_TOKENS", help="Most tokens per reply (none: no limit).")
    think: bool | str | None = setting(
        None, env="ALLOY_THINK", help="Thinking: true, false or a level (low, medium, high); none: the model's default."
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
            raise ConfigurationError(
                f"extra['ollama_api'] is {api!r}; allowed values are 'native', 'openai_chat' or 'auto'."
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
        values = {name: getattr(self, name) for name in REQUEST_SETTINGS}
        return {name: value for name, value in values.items() if value is not None and value != {}}

    @property
    def base_url(self) -> str:
        """The host URL without credentials: what the SDKs are given, so no log line shows a password."""
        return connection(self.host, self.headers)[0]

    @property
    def request_headers(self) -> dict[str, str]:
        """The headers every request carries: the configured ones, plus `Authorization: Basic …` from
        `user:password@` in the host unless an Authorization header is configured (that one wins)."""
        return dict(connection(self.host, self.headers)[1])

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, redact_host(value) if name == "host" else value

    @property
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


THINK_LEVELS = ("low", "medium", "high")
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


def normalize_host(host: str) -> str:
    """A base URL from a host spelled the way `OLLAMA_HOST` may be, read exactly as Ollama reads it.

    No scheme means `http` and port 11434; a scheme without a port means its own port (80, 443);
    a trailing `/` is dropped, a path is kept, and so are `user:password@` credentials.

    >>> normalize_host(""), normalize_host(":56789"), normalize_host("gpu-box")
    ('http://127.0.0.1:11434', 'http://127.0.0.1:56789', 'http://gpu-box:11434')
    >>> normalize_host("http://gpu-box"), normalize_host("https://gpu-box"), normalize_host("[::1]/ollama/")
    ('http://gpu-box:80', 'https://gpu-box:443', 'http://[::1]:11434/ollama')
    """
    text = host.strip()
    if not text:
        return DEFAULT_HOST
    scheme, has_scheme, rest = text.partition("://")
    if not has_scheme:
        scheme, rest = "http", text
    scheme = scheme.lower()
    netloc, _, path = rest.partition("/")
    credentials, _, address = netloc.rpartition("@")
    name, port = _split_port(address, host)
    if scheme not in ("http", "https") or not _valid_host_name(name):
        raise ConfigurationError(
            f"OLLAMA_HOST {redact_host(host)!r} is not a host Ollama can reach; write it like 127.0.0.1:11434, "
            "gpu-box, http://gpu-box:11434 or https://proxy.example/ollama."
        )
    if port is None:
        port = DEFAULT_PORT if not has_scheme else (443 if scheme == "https" else 80)
    userinfo = f"{credentials}@" if credentials else ""
    path = "/" + path.strip("/") if path.strip("/") else ""
    return f"{scheme}://{userinfo}{name or '127.0.0.1'}:{port}{path}"


def _split_port(address: str, original: str) -> tuple[str, int | None]:
    """`host:port`, `[v6]:port`, `:port` or a bare host, split; a port that is not a number is an error."""
    if address.startswith("["):
        end = address.find("]")
        name, after = address[: end + 1], address[end + 1 :]
        text = after[1:] if after.startswith(":") else None
        if end < 0 or (after and text is None):
            text = "?"
    elif address.count(":") == 1:
        name, text = address.split(":")
    else:
        name, text = address, None
    if text is None:
        return name, None
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigurationError(f"OLLAMA_HOST {redact_host(original)!r} has no valid port number; use 1-65535.")
    return name, int(text)


def _valid_host_name(name: str) -> bool:
    if name.startswith("["):
        return len(name) > 2 and all(c in "0123456789abcdefABCDEF:.%" or c.isalnum() for c in name[1:-1])
    return all(c.isalnum() or c in "-._" for c in name)


def connection(host: str, headers: Mapping[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The one authentication rule of both strategies and the host client: credentials in the URL
    become a Basic Authorization header, unless one is configured; the URL goes on without them.

    >>> connection("https://me:pw@proxy.example:443", {})
    ('https://proxy.example:443', (('Authorization', 'Basic bWU6cHc='),))
    >>> connection("https://me:pw@proxy.example:443", {"authorization": "Bearer t"})
    ('https://proxy.example:443', (('authorization', 'Bearer t'),))
    """
    return _connection(host, tuple(sorted(headers.items())))


@lru_cache(maxsize=64)
def _connection(host: str, headers: tuple[tuple[str, str], ...]) -> tuple[str, tuple[tuple[str, str], ...]]:
    scheme, _, rest = host.partition("://")
    netloc, slash, path = rest.partition("/")
    credentials, at, address = netloc.rpartition("@")
    if not at:
        return host, headers
    url = f"{scheme}://{address}{slash}{path}"
    if any(name.lower() == "authorization" for name, _ in headers):
        return url, headers
    user, _, password = credentials.partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
    return url, tuple(sorted((*headers, ("Authorization", f"Basic {token}"))))


@lru_cache(maxsize=64)
def redact_host(url: str) -> str:
    """The host URL without any `user:password@` part, safe to show and to trace.

    >>> redact_host("https://me:secret@proxy.example:443/ollama")
    'https://***@proxy.example:443/ollama'
    """
    scheme, has_scheme, rest = url.partition("://")
    netloc, slash, path = rest.partition("/") if has_scheme else url.partition("/")
    if "@" not in netloc:
        return url
    shown = "***@" + netloc.rsplit("@", 1)[1] + slash + path
    return f"{scheme}://{shown}" if has_scheme else shown


def _env_names(field: FieldInfo) -> tuple[str, ...]:
    extra = field.json_schema_extra
    return tuple(cast("list[str]", extra.get("env", []))) if isinstance(extra, dict) else ()


ENV_VARS: dict[str, tuple[str, ...]] = {
    name: names for name, field in Config.model_fields.items() if (names := _env_names(field))
}
"""Each setting the environment may set -> its variables: the documented one, then an alias."""

_ENV_NAMES = tuple(name for names in ENV_VARS.values() for name in names)
_ENV_NAME_SET = frozenset(_ENV_NAMES)
_JSON_FIELDS = frozenset(name for name in ENV_VARS if get_origin(Config.model_fields[name].annotation) is dict)


def _raw_environment() -> dict[str, tuple[str, str]]:
    """setting -> (variable, raw value) for each setting the environment sets; the documented name wins."""
    found: dict[str, tuple[str, str]] = {}
    for field, names in ENV_VARS.items():
        for var in names:
            raw = os.environ.get(var, "")
            if raw.strip():
                found[field] = (var, raw)
                break
    return found


def _from_environment() -> dict[str, Any]:
    return {
        field: _parse_json(var, raw) if field in _JSON_FIELDS else raw
        for field, (var, raw) in _raw_environment().items()
    }


def _parse_json(var: str, raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{var} is not valid JSON ({exc.msg}); set it to an object.") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f'{var} must be a JSON object, e.g. {{"ollama_api": "native"}}.')
    return value


def _merge_extra(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(changes)
    if "extra" in changes and changes["extra"] is not None:
        result["extra"] = {**base, **changes["extra"]}
    return result


def _build(values: Mapping[str, Any], source: str = "settings") -> Config:
    try:
        return Config(**values)
    except ValidationError as exc:
        for error in exc.errors():
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, ConfigurationError):
                raise cause from None
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(
            f"Invalid {source}: {problems}. Known settings: {', '.join(Config.model_fields)}."
        ) from None


class _Scope(NamedTuple):
    values: dict[str, Any]
    key: Any  # None when a value is unhashable (then never remembered)


_configured: dict[str, Any] = {}
_configured_key: Any = ()
_scopes: ContextVar[tuple[_Scope, ...]] = ContextVar("alloy_nb_settings_scopes", default=())


_SETTING_NAMES = frozenset(Config.model_fields)
KEYWORD_ALIASES = {"default_system": "system", "parallel_tools_max": "tool_concurrency"}
"""alloy-ai's keyword -> the setting it sets here; accepted wherever settings are."""


def _clean(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Drop `None` (not given), read alloy-ai's names, translate `api=` into `extra['ollama_api']`,
    reject unknown keys."""
    result = {KEYWORD_ALIASES.get(key, key): value for key, value in changes.items() if value is not None}
    api = result.pop("api", None)
    if api is not None:
        result["extra"] = {**result.get("extra", {}), "ollama_api": api}
    unknown = result.keys() - _SETTING_NAMES
    if unknown:
        raise ConfigurationError(
            f"Unknown setting(s) {', '.join(sorted(unknown))}. Known settings: {', '.join(Config.model_fields)}, api "
            f"(and alloy-ai's {', '.join(KEYWORD_ALIASES)})."
        )
    return result


_listeners: list[Callable[[Config], None]] = []


def configure(**changes: Any) -> Config:
    """Set process-wide defaults (above the environment, below `settings()` and per-call arguments)."""
    candidate = {**_configured, **_merge_extra(_configured.get("extra", {}), _clean(changes))}
    _build({**_from_environment(), **candidate}, "configure()")
    _set_configured(candidate)
    _notify()
    return current()


def reset_configuration() -> None:
    """Forget everything set with `configure()`."""
    _set_configured({})
    _notify()


def forget(*keys: str) -> Config | None:
    """Drop settings made with `configure()`, so the environment or the default applies again."""
    _set_configured({key: value for key, value in _configured.items() if key not in keys})
    return _notify()


def _set_configured(values: dict[str, Any]) -> None:
    global _configured_key
    _configured.clear()
    _configured.update(values)
    _configured_key = _key_of(_configured)


def configured() -> dict[str, Any]:
    """What `configure()` has set so far (not the environment or defaults)."""
    return dict(_configured)


def subscribe(listener: Callable[[Config], None]) -> Callable[[], None]:
    """Call `listener(config)` after every `configure()`; returns a function that unsubscribes."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


def _notify() -> Config | None:
    try:
        config = current()
    except ConfigurationError:  # a bad environment: the next call reports it
        return None
    for listener in list(_listeners):
        listener(config)
    return config


@contextmanager
def settings(**changes: Any) -> Iterator[Config]:
    """Scope settings to a `with` block (and to tasks started inside it)."""
    values = _clean(changes)
    token = _scopes.set((*_scopes.get(), _Scope(values, _key_of(values))))
    try:
        yield current()
    finally:
        _scopes.reset(token)


_built: dict[Any, Config] = {}
_BUILT_LIMIT = 256


def current(**call_overrides: Any) -> Config:
    """The effective config: defaults < environment < configure() < settings() < call overrides.

    Built configs are remembered by the raw values of every layer, so a repeated call skips
    cleaning and validation."""
    scopes = _scopes.get()
    layer_keys = (_configured_key, *(scope.key for scope in scopes), _key_of(call_overrides))
    key = (_environment_snapshot(), layer_keys) if None not in layer_keys else None
    config = _built.get(key) if key is not None else None
    if config is None:
        config = _layered(
            [_from_environment(), _configured, *(scope.values for scope in scopes), _clean(call_overrides)]
        )
        if key is not None:
            if len(_built) >= _BUILT_LIMIT:
                _built.clear()
            _built[key] = config
    return config


def _environment_snapshot() -> tuple[tuple[str, str], ...]:
    """The environment variables alloy_nb reads that are set, with their values.

    Intersecting the names with the environment's keys takes ~4 µs; looking up each name takes ~20,
    most of it the KeyError that os.environ raises inside for every unset one."""
    present = _ENV_NAME_SET.intersection(os.environ)
    return tuple(sorted((name, os.environ[name]) for name in present)) if present else ()


def _key_of(values: Mapping[str, Any]) -> Any:
    """A hashable stand-in for a layer of settings, or None when one of its values cannot be hashed."""
    try:
        return _frozen(values)
    except TypeError:
        return None


def _frozen(value: Any) -> Any:
    """A hashable stand-in for nested settings (dicts, lists); raises TypeError for anything else unhashable."""
    if isinstance(value, dict):
        flat = tuple((key, type(item), item) for key, item in value.items())
        try:
            hash(flat)
            return flat
        except TypeError:  # a nested dict or list: freeze it too
            pass
        return tuple((key, _frozen(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, *(_frozen(item) for item in value))
    hash(value)
    return (type(value).__name__, value)


def _layered(layers: list[Mapping[str, Any]]) -> Config:
    values: dict[str, Any] = {}
    for layer in layers:
        values.update(_merge_extra(values.get("extra", {}), layer))
    try:
        return _build(values)
    except ConfigurationError:
        _check_environment()
        raise


def _check_environment() -> None:
    """Raise naming the environment variable when that is where a bad value came from."""
    environment = _from_environment()
    for field, (var, raw) in _raw_environment().items():
        try:
            _build({field: environment[field]})
        except ConfigurationError as exc:
            shown = redact_host(raw.strip()) if field == "host" else raw.strip()
            raise ConfigurationError(f"Environment variable {var}={shown!r} is invalid: {exc}") from None


def settings_table_markdown() -> str:
    """The README's table of settings: name, environment variable, default and what each does."""
    rows = ["| setting | environment variable | default | what it does |", "|---|---|---|---|"]
    for name, field in Config.model_fields.items():
        env = " or ".join(f"`{var}`" for var in ENV_VARS.get(name, ())) or "—"
        rows.append(
            f"| `{name}` | {env} | {_shown(field.get_default(call_default_factory=True))} | {field.description} |"
        )
    return "\n".join(rows) + "\n"


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, type):
        return f"`{value.__name__}`"
    return f"`{value:g}`" if isinstance(value, float) else f"`{value}`"
