"""Configuration: defaults, environment, `configure()`, `settings()` scopes and per-call overrides.

Precedence, highest first: per-call arguments > `settings(...)` scopes > `configure(...)`
> environment > built-in defaults.

    model.py        the `Config` model: the one list of settings; model strings, thinking levels
    host_url.py     `OLLAMA_HOST` parsing, credentials in a URL, redaction for display
    environment.py  each setting's environment variables, read and parsed; the README's table
    layers.py       `configure()`, `settings()`, `current()`: the layers and how they combine
"""

from .._choices import MODEL_PREFIX
from .environment import ENV_NAMES, ENV_VARS, settings_table_markdown
from .host_url import DEFAULT_HOST, authorization_scheme, connection, normalize_host, redact_host
from .layers import (
    KEYWORD_ALIASES,
    configure,
    configured,
    current,
    forget,
    reset_configuration,
    settings,
    subscribe,
)
from .model import REQUEST_SETTINGS, THINK_LEVELS, Config, model_name, think_setting

__all__ = [
    "DEFAULT_HOST",
    "ENV_NAMES",
    "ENV_VARS",
    "KEYWORD_ALIASES",
    "MODEL_PREFIX",
    "REQUEST_SETTINGS",
    "THINK_LEVELS",
    "Config",
    "authorization_scheme",
    "configure",
    "configured",
    "connection",
    "current",
    "forget",
    "model_name",
    "normalize_host",
    "redact_host",
    "reset_configuration",
    "settings",
    "settings_table_markdown",
    "subscribe",
    "think_setting",
]
