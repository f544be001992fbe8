"""`%alloy config`: the settings in effect as a table, each with where it came from; secrets never shown."""

from __future__ import annotations

import os
from typing import Any

from .._config import ENV_VARS, Config, configured, redact_host
from .host_tables import Table

_SECRET = "set (not shown)"


def settings_table(config: Config) -> Table:
    """Every setting's value in `config`, and what set it: configure(), an environment variable, or the default."""
    set_in_code = configured()
    rows = []
    for name in type(config).model_fields:
        origin = "configure()" if name in set_in_code else _variable_set(name) or "default"
        rows.append((name, _shown(name, getattr(config, name)), origin))
    return Table(("setting", "value", "set by"), rows)


def _variable_set(name: str) -> str | None:
    return next((var for var in ENV_VARS.get(name, ()) if os.environ.get(var, "").strip()), None)


def _shown(name: str, value: Any) -> str:
    if name == "api_key":
        return _SECRET if value is not None else "none"
    if name == "headers":
        return f"{len(value)} header(s): {', '.join(sorted(value))} (values not shown)" if value else "none"
    if name == "host":
        return redact_host(value)
    if name == "hosts":
        return ", ".join(redact_host(host) for host in value) or "none"
    return "none" if value is None else str(value)
