"""Reading what a student wrote, for the course's checks: a type's JSON schema and its fields in words,
values cut to fit a notebook's output, and the printing of a verdict."""

from __future__ import annotations

import inspect
from typing import Any

from alloy_nb._outputs import output_spec
from alloy_nb._tools import Tool
from alloy_nb.errors import AlloyError

WORDS = {"string": "text", "integer": "a whole number", "number": "a number", "array": "a list", "boolean": "a bool"}


def say(text: str) -> None:
    print(text)


def is_empty(answer: Any) -> bool:
    return answer is None or answer is ...


def fields_schema(name: str, answer: Any, wanted: dict[str, str]) -> dict[str, Any] | None:
    """The JSON schema of the student's type when it has the wanted fields and JSON types; else None, said why."""
    listed = ", ".join(f"{field} ({WORDS[kind]})" for field, kind in wanted.items())
    if is_empty(answer):
        say(f"Not yet: write a class {name} with the fields {listed}.")
        return None
    try:
        spec = output_spec(answer)
    except AlloyError:
        spec = None
    if spec is None or spec.schema is None or spec.wrapped:
        say(f"Not yet: {name} should be a class (a pydantic model or a dataclass), not {short(answer)}.")
        return None
    schema = spec.schema
    properties = schema.get("properties", {})
    for field, kind in wanted.items():
        if field not in properties:
            say(f"Not yet: {name} has no field {field}; its fields are {short(list(properties))}. It needs {listed}.")
            return None
        found = resolved(schema, properties[field])
        if found.get("type") != kind:
            say(f"Not yet: {field} is {allowed(found)} in the schema; it should be {WORDS[kind]}.")
            return None
    return schema


def resolved(schema: dict[str, Any], field: Any, depth: int = 0) -> dict[str, Any]:
    """A field's schema with a $ref into $defs (an Enum, a nested model) replaced by what it points to."""
    if not isinstance(field, dict):
        return {}
    found: dict[str, Any] = field
    wrapped = found.get("allOf")
    if isinstance(wrapped, list) and len(wrapped) == 1 and isinstance(wrapped[0], dict):  # older schemas wrap a $ref
        found = {**{k: v for k, v in found.items() if k != "allOf"}, **wrapped[0]}
    ref = found.get("$ref")
    target = schema.get("$defs", {}).get(ref.removeprefix("#/$defs/")) if isinstance(ref, str) else None
    if not isinstance(target, dict) or depth > 8:
        return found
    return resolved(schema, {**target, **{k: v for k, v in found.items() if k != "$ref"}}, depth + 1)


def listed_values(field: dict[str, Any]) -> list[Any] | None:
    """The values a field may take when the schema lists them (an enum, or a single const); else None."""
    if isinstance(field.get("enum"), list):
        return list(field["enum"])
    return [field["const"]] if "const" in field else None


def unannotated(tool: Tool, name: str) -> bool:
    try:
        return inspect.signature(tool.func).parameters[name].annotation is inspect.Parameter.empty
    except (KeyError, TypeError, ValueError):
        return False


def described(value: Any, key: Any) -> str:
    """A value found in a request body, in words: a list of messages, the text '...'."""
    if isinstance(value, list):
        return f"a list of {key}" if key in ("messages", "tools") else f"a list of {len(value)} items"
    return f"the text {short(value)}" if isinstance(value, str) else short(value)


def reason(error: Exception) -> str:
    """Why a reply was refused: the error up to the raw reply, without the library's advice on calls."""
    text = str(error).split("Raw reply")[0].rstrip(". ")
    return clip(text if isinstance(error, AlloyError) else f"{type(error).__name__}: {text}")


def allowed(schema: dict[str, Any]) -> str:
    """What a field's schema lets through, in words."""
    if "enum" in schema:
        return f"one of {short(schema['enum'])}"
    if isinstance(schema.get("type"), str):
        return WORDS.get(schema["type"], f"any {schema['type']}")
    return "any value" if not schema else f"{short(schema)}"


def short(value: Any) -> str:
    """A value's repr, cut so it wraps in a notebook's output."""
    return clip(repr(value))


def clip(text: str, limit: int = 160, word: int = 60) -> str:
    """Text short enough to read in a check's hint, with no word longer than `word` (output wraps at spaces)."""
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return " ".join(piece if len(piece) <= word else piece[: word - 3] + "..." for piece in text.split(" "))
