"""What a model can do, from the host's `/api/show`, and the requests it cannot serve.

`model_info("ollama:qwen3")` reads `/api/show` once per host and model (cached; a pull forgets
the host's entries). Before a call is sent, `fit_to_model` refuses tools for a model without
`tools`, images without `vision` and thinking without `thinking` (naming models on the host that
have it), checks a thinking level against the levels the model reports and turns `think=True`
into the default level of a model that only takes levels (gpt-oss). When the host cannot say
(an older server, no `/api/show`), nothing is refused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._config import Config, current, model_name, redact_host
from ._host import Host
from ._model_names import same_model
from ._views.capabilities import model_info_html
from ._visible import visible
from .errors import ConfigurationError, ModelNotFound, ServerError, model_missing, no_server, not_json, one_line

CAPABILITIES = ("completion", "tools", "vision", "thinking", "embedding")
_NEEDS = {"tools": "call tools", "vision": "read images", "thinking": "think"}
_MAX_MODELS_LOOKED_AT = 24  # when naming models that can do something, on a host with many


@dataclass(frozen=True)
class ModelInfo:
    """One model as its host describes it in `/api/show`."""

    model: str
    host: str
    capabilities: tuple[str, ...] = ()
    context_length: int | None = None
    parameter_size: str = ""
    quantization: str = ""
    family: str = ""
    think_values: tuple[bool | str, ...] = ()
    think_default: bool | str | None = None

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    @property
    def think_levels(self) -> tuple[str, ...]:
        """The named thinking levels the model takes (gpt-oss: low, medium, high); empty for on/off models."""
        return tuple(value for value in self.think_values if isinstance(value, str))

    def summary(self) -> str:
        parts = [self.model.removeprefix("ollama:"), ", ".join(self.capabilities) or "capabilities unknown"]
        if self.context_length:
            parts.append(f"context {self.context_length:,} tokens")
        parts += [part for part in (self.parameter_size, self.quantization, self.family) if part]
        if self.think_levels:
            parts.append(f"thinking levels {', '.join(self.think_levels)} (default {self.think_default})")
        return " · ".join(parts)

    def __str__(self) -> str:
        return visible(self.summary())  # the host's words, its control characters shown, never obeyed

    def _repr_html_(self) -> str:
        facts = [
            ("host", self.host),
            ("context length", f"{self.context_length:,} tokens" if self.context_length else "unknown"),
            ("parameters", self.parameter_size or "unknown"),
            ("quantization", self.quantization or "unknown"),
            ("family", self.family or "unknown"),
        ]
        if self.think_values:
            facts.append(("thinking", f"{', '.join(map(str, self.think_values))} (default {self.think_default})"))
        return model_info_html(self.model.removeprefix("ollama:"), self.capabilities, facts)


def model_info(model: str | None = None, *, host: str | None = None) -> ModelInfo:
    """What `model` (default: the configured one) can do, read from its host's `/api/show`.

    Raises `ModelNotFound` when the host lacks the model and `OllamaUnavailable` when nothing answers."""
    config = current(**{key: value for key, value in (("model", model), ("host", host)) if value is not None})
    info = _lookup(config)
    if info is None:
        raise _missing(config)
    return info


_cache: dict[tuple[Any, ...], ModelInfo | None] = {}  # a model the host lacks: None, while `_missed_at` says
_missed_at: dict[tuple[Any, ...], float] = {}  # when each None was learnt (time.monotonic())
_cache_lock = threading.Lock()
_CACHE_LIMIT = 256  # descriptions kept (host, headers, model): mistyped names and rotated tokens make new keys
MISSING_FOR_S = 5.0  # a model the host lacked is asked for again after this (a pull from elsewhere shows then)


def forget(host: str | None = None) -> None:
    """Drop cached model descriptions (of one host, or all), e.g. after a pull."""
    with _cache_lock:
        for key in [key for key in _cache if host is None or key[0] == Host(url=host).url]:
            del _cache[key]
            _missed_at.pop(key, None)


def is_known(config: Config) -> bool:
    """Whether the model's description is cached (so `known` answers without a request)."""
    host = Host(config)
    with _cache_lock:
        return _cached((host.url, host.headers, config.model_name))


def known(config: Config) -> ModelInfo | None:
    """The model's description, or None when the host cannot give one (never raises)."""
    try:
        return _lookup(config)
    except Exception:
        return None


def _lookup(config: Config) -> ModelInfo | None:
    """Cached `/api/show`; None when the host answers 404 for the model (kept `MISSING_FOR_S`: a host
    that never describes models, such as a proxy of `/v1` only, is not asked on every call)."""
    host = Host(config)
    key = (host.url, host.headers, config.model_name)
    with _cache_lock:
        if _cached(key):
            return _cache[key]
    info = _read(host, config.model)
    with _cache_lock:
        if len(_cache) >= _CACHE_LIMIT and key not in _cache:
            oldest = next(iter(_cache))
            del _cache[oldest]
            _missed_at.pop(oldest, None)
        _cache[key] = info
        if info is None:
            _missed_at[key] = time.monotonic()
        else:
            _missed_at.pop(key, None)
    return info


def _cached(key: tuple[Any, ...]) -> bool:
    """Whether `key` is cached and still holds (a miss only for `MISSING_FOR_S`); the caller holds the lock."""
    if key not in _cache:
        return False
    learnt = _missed_at.get(key)
    return learnt is None or time.monotonic() - learnt < MISSING_FOR_S


def _read(host: Host, model: str) -> ModelInfo | None:
    import httpx

    try:
        reply = httpx.post(
            f"{host.url}/api/show", json={"model": model_name(model)}, headers=dict(host.headers), timeout=host.timeout
        )
    except httpx.ConnectError:
        raise no_server(host.shown) from None
    if reply.status_code == 404:
        return None
    if reply.status_code >= 400:
        raise ServerError(
            f"The server at {host.shown} answered {reply.status_code} when asked what {model_name(model)} can do "
            "(/api/show).",
            status_code=reply.status_code,
            body=one_line(reply.text, 500),
        )
    try:
        body = reply.json()
    except ValueError:  # not JSON (or not UTF-8): a proxy's page, not Ollama
        raise not_json(host.shown, reply.text) from None
    return parse_show(model, host.shown, body)


def parse_show(model: str, host: str, body: Any) -> ModelInfo:
    """A `/api/show` body as a ModelInfo (fields an older server leaves out stay unknown).

    >>> info = parse_show("ollama:gpt-oss:20b", "h", {"capabilities": ["completion", "thinking"],
    ...     "model_info": {"gptoss.context_length": 131072}, "thinking": {"values": ["low", "high"], "default": "low"}})
    >>> info.context_length, info.think_levels, info.think_default
    (131072, ('low', 'high'), 'low')
    """
    body = body if isinstance(body, dict) else {}
    details = _field(body, "details", dict)
    facts = _field(body, "model_info", dict)
    context = next((v for k, v in facts.items() if k.endswith(".context_length") and isinstance(v, int)), None)
    thinking = _field(body, "thinking", dict)
    values = _field(thinking, "values", list)
    default = thinking.get("default")
    capabilities = _field(body, "capabilities", list)
    return ModelInfo(
        model=model,
        host=redact_host(host),
        capabilities=tuple(visible(str(c)) for c in capabilities),  # names, quoted in errors: never obeyed
        context_length=context,
        parameter_size=str(details.get("parameter_size") or ""),
        quantization=str(details.get("quantization_level") or ""),
        family=str(details.get("family") or ""),
        think_values=tuple(v for v in values if isinstance(v, (bool, str))),
        think_default=default if isinstance(default, (bool, str)) else None,
    )


def _field(body: dict[str, Any], name: str, kind: type[Any]) -> Any:
    """`body[name]` when it is a `kind`, else an empty one (servers differ in what they send)."""
    value = body.get(name)
    return value if isinstance(value, kind) else kind()


def fit_to_model(config: Config, *, tools: bool, images: bool) -> Config:
    """`config` for a request the model can serve: raises `ConfigurationError` for one it cannot,
    and gives a model that only takes levels (it ignores booleans) its default level for `think=True`."""
    info = known(config)
    if info is None or not info.capabilities:
        return config
    think = config.think
    for capability, asked in (("tools", tools), ("vision", images), ("thinking", bool(think))):
        if asked and not info.can(capability):
            raise _cannot(config, info, capability)
    if think is None or not info.think_values:
        return config
    if think is True and info.think_levels and True not in info.think_values:
        level = info.think_default if isinstance(info.think_default, str) else info.think_levels[0]
        return config.model_copy(update={"think": level})
    if isinstance(think, str) and think not in info.think_values:
        offered = ", ".join(repr(value) for value in info.think_values)
        raise ConfigurationError(
            f"think={think!r} is not a setting {config.model_name} offers (Ollama would quietly use its default); "
            f"it takes {offered}."
        )
    return config


FILLED = 0.95  # a prompt this close to the context length was most likely cut to fit
SMALLEST_DEFAULT_CONTEXT = 2048  # Ollama's smallest default num_ctx: shorter prompts never ask the host


def context_warning(config: Config, prompt_tokens: int | None, *, ask_host: bool = True) -> str | None:
    """A warning when the prompt filled the context window, so the server probably dropped its start.

    The window is `context_length` when set, else what `/api/ps` says the loaded model has (asked only
    for prompts long enough to fill the smallest default)."""
    if not prompt_tokens:
        return None
    limit = config.context_length
    if ask_host and asks_host_for_context(config, prompt_tokens):
        limit = _loaded_context(config)
    if not limit or prompt_tokens < limit * FILLED:
        return None
    native = config.strategy == "native"
    advice = (
        f"raise context_length= (e.g. context_length={2 * limit})"
        if native
        else "use api='native' with a larger context_length=, or a shorter prompt"
    )
    return (
        f"The prompt filled the context window: {prompt_tokens:,} tokens read of {limit:,}, so the server "
        f"probably dropped the start of the conversation. To keep all of it, {advice}."
    )


def asks_host_for_context(config: Config, prompt_tokens: int | None) -> bool:
    """Whether `context_warning` needs the host's `/api/ps` (no `context_length`, and a prompt long
    enough to fill the smallest default window)."""
    return config.context_length is None and (prompt_tokens or 0) >= SMALLEST_DEFAULT_CONTEXT * FILLED


def _loaded_context(config: Config) -> int | None:
    try:
        running = Host(config).running().models
    except Exception:
        return None
    for model in running:
        if any(same_model(name, config.model_name) for name in (model.model, model.name) if name):
            return int(model.context_length) if model.context_length else None
    return None


def _cannot(config: Config, info: ModelInfo, capability: str) -> ConfigurationError:
    others = [name for name in _models_with(config, capability) if not same_model(name, config.model_name)]
    suggestion = (
        f" Models on {info.host} that can: {', '.join(others)}." if others else f" No model on {info.host} can."
    )
    return ConfigurationError(
        f"{config.model_name} cannot {_NEEDS[capability]} (its capabilities: {', '.join(info.capabilities)}), so "
        f"nothing was sent.{suggestion}"
    )


def _models_with(config: Config, capability: str) -> Iterable[str]:
    try:
        names = [model.name for model in Host(config).models()][:_MAX_MODELS_LOOKED_AT]
    except Exception:
        return []
    found = []
    for name in names:
        info = known(config.model_copy(update={"model": f"ollama:{name}"}))
        if info is not None and info.can(capability):
            found.append(name)
    return found


def _missing(config: Config) -> ModelNotFound:
    info = Host(config).info()
    return model_missing(
        config.model_name,
        redact_host(info.host),
        sorted(m.name for m in info.models),
        embedded=info.embedded,
        started_by=info.started_by,
    )
