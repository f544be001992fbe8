"""Synthesize a small JSON instance that satisfies a JSON schema."""

from __future__ import annotations

import math
from typing import Any

_STRING_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "uuid": "00000000-0000-0000-0000-000000000000",
}
_SHALLOW = 3  # deeper than this, arrays stay empty and unions pick null if they can
_MAX_DEPTH = 32  # unsatisfiable recursive schemas stop here
_MAX_VALUES = 10_000  # an instance needing more values (minItems nested or recursive) is refused
_MAX_LENGTH = 100_000  # likewise a string longer than this
_MAX_CHARACTERS = 1_000_000  # and an instance whose strings add up to more (a 187-byte schema could ask 100 MB)


def example(schema: dict[str, Any]) -> Any:
    """A deterministic instance of ``schema``; ``$ref`` resolves within ``schema``.

    Objects get their required properties, arrays one item (or ``minItems``),
    unions their first non-null option, enums their first value; deep down,
    optional parts are left empty so recursive schemas terminate. A schema whose
    smallest instance is huge raises ValueError instead of taking forever.
    """
    return _Synthesizer(schema).instance(schema, 0)


class _Synthesizer:
    def __init__(self, root: dict[str, Any]) -> None:
        self._root = root
        self._values_left = _MAX_VALUES
        self._characters_left = _MAX_CHARACTERS

    def instance(self, schema: dict[str, Any], depth: int) -> Any:
        self._values_left -= 1
        if self._values_left < 0:
            raise ValueError(f"the schema's smallest instance has more than {_MAX_VALUES} values")
        schema = self._resolve(schema)
        if depth > _MAX_DEPTH:
            return None
        if "const" in schema:
            return schema["const"]
        if "default" in schema:
            return schema["default"]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                return self.instance(_choose(schema[key], depth), depth)
        if schema.get("allOf"):
            return self.instance(self._merge(schema), depth)
        return self._typed(schema, _type_of(schema), depth)

    def _counted(self, text: str) -> str:
        self._characters_left -= len(text)
        if self._characters_left < 0:
            raise ValueError(f"the schema's smallest instance has more than {_MAX_CHARACTERS} characters of strings")
        return text

    def _typed(self, schema: dict[str, Any], kind: str | None, depth: int) -> Any:
        if kind == "object":
            properties: dict[str, Any] = schema.get("properties", {})
            return {name: self.instance(properties.get(name, {}), depth + 1) for name in schema.get("required", [])}
        if kind == "array":
            return self._array(schema, depth)
        if kind == "string":
            return self._counted(_string(schema))
        if kind in ("integer", "number"):
            return _number(schema, kind)
        return True if kind == "boolean" else None

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        items = [self.instance(item, depth + 1) for item in schema.get("prefixItems", [])]
        wanted = max(schema.get("minItems", 0), 1 if depth < _SHALLOW else 0)
        wanted = min(wanted, schema.get("maxItems", wanted))
        if isinstance(schema.get("items"), dict):
            items += [self.instance(schema["items"], depth + 1) for _ in range(wanted - len(items))]
        return items

    def _merge(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Fold ``allOf`` parts into one schema (properties and required combined)."""
        merged = {key: value for key, value in schema.items() if key != "allOf"}
        for part in map(self._resolve, schema["allOf"]):
            properties = {**merged.get("properties", {}), **part.get("properties", {})}
            required = [*merged.get("required", []), *part.get("required", [])]
            merged = {**merged, **part, "properties": properties, "required": required}
        return merged

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen: set[str] = set()
        while isinstance(schema.get("$ref"), str) and schema["$ref"] not in seen:
            seen.add(schema["$ref"])
            rest = {key: value for key, value in schema.items() if key != "$ref"}
            schema = {**self._lookup(schema["$ref"]), **rest}
        return schema

    def _lookup(self, ref: str) -> dict[str, Any]:
        target: Any = self._root
        for part in filter(None, ref.removeprefix("#").split("/")):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return target if isinstance(target, dict) else {}


def _choose(options: list[dict[str, Any]], depth: int) -> dict[str, Any]:
    nulls = [option for option in options if option.get("type") == "null"]
    if nulls and depth >= _SHALLOW:
        return nulls[0]
    return next((option for option in options if option.get("type") != "null"), options[0])


def _type_of(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        return next((k for k in kind if k != "null"), "null")
    if kind is None and ("properties" in schema or "required" in schema):
        return "object"
    if kind is None and ("items" in schema or "prefixItems" in schema):
        return "array"
    return kind


def _string(schema: dict[str, Any]) -> str:
    if schema.get("minLength", 0) > _MAX_LENGTH:
        raise ValueError(f"minLength {schema['minLength']} is over {_MAX_LENGTH} characters")
    text = _STRING_FORMATS.get(schema.get("format", ""), "example")
    text = text.ljust(schema.get("minLength", 0), "x")
    return text[: schema["maxLength"]] if "maxLength" in schema else text


def _number(schema: dict[str, Any], kind: str) -> int | float:
    value: float = 0
    if "minimum" in schema:
        value = schema["minimum"]
    elif "exclusiveMinimum" in schema:
        value = schema["exclusiveMinimum"] + 1
    elif "maximum" in schema:
        value = min(0, schema["maximum"])
    elif "exclusiveMaximum" in schema:
        value = min(0, schema["exclusiveMaximum"] - 1)
    return math.ceil(value) if kind == "integer" else float(value)
