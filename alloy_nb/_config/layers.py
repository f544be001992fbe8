"""The layers of settings and how they combine: `configure()`, `settings()` scopes, per-call overrides.

Precedence, highest first: per-call arguments > `settings(...)` scopes > `configure(...)`
> environment > built-in defaults. Built configs are remembered, so a repeated call is cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

from pydantic import ValidationError

from ..errors import ConfigurationError
from .environment import ENV_NAME_SET, from_environment, raw_environment
from .host_url import redact_host
from .model import Config


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
    _build({**from_environment(), **candidate}, "configure()")
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
            [from_environment(), _configured, *(scope.values for scope in scopes), _clean(call_overrides)]
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
    present = ENV_NAME_SET.intersection(os.environ)
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
    environment = from_environment()
    for field, (var, raw) in raw_environment().items():
        try:
            _build({field: environment[field]})
        except ConfigurationError as exc:
            shown = redact_host(raw.strip()) if field == "host" else raw.strip()
            raise ConfigurationError(f"Environment variable {var}={shown!r} is invalid: {exc}") from None
