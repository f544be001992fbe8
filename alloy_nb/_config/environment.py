"""The environment's layer of settings: each setting's variables (from `Config`'s fields), read and parsed,
and the README's table of them."""

from __future__ import annotations

import json
import os
from typing import Any, cast, get_origin

from pydantic.fields import FieldInfo

from ..errors import ConfigurationError
from .model import Config


def _env_names(field: FieldInfo) -> tuple[str, ...]:
    extra = field.json_schema_extra
    return tuple(cast("list[str]", extra.get("env", []))) if isinstance(extra, dict) else ()


ENV_VARS: dict[str, tuple[str, ...]] = {
    name: names for name, field in Config.model_fields.items() if (names := _env_names(field))
}
"""Each setting the environment may set -> its variables: the documented one, then an alias."""

ENV_NAMES = tuple(name for names in ENV_VARS.values() for name in names)
ENV_NAME_SET = frozenset(ENV_NAMES)
JSON_FIELDS = frozenset(name for name in ENV_VARS if get_origin(Config.model_fields[name].annotation) is dict)


def raw_environment() -> dict[str, tuple[str, str]]:
    """setting -> (variable, raw value) for each setting the environment sets; the documented name wins."""
    found: dict[str, tuple[str, str]] = {}
    for field, names in ENV_VARS.items():
        for var in names:
            raw = os.environ.get(var, "")
            if raw.strip():
                found[field] = (var, raw)
                break
    return found


def from_environment() -> dict[str, Any]:
    return {
        field: _parse_json(var, raw) if field in JSON_FIELDS else raw for field, (var, raw) in raw_environment().items()
    }


def _parse_json(var: str, raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{var} is not valid JSON ({exc.msg}); set it to an object.") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f'{var} must be a JSON object, e.g. {{"ollama_api": "native"}}.')
    return value


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
