"""Output types: a Python type -> the JSON schema sent to the model -> the validated value."""

from __future__ import annotations

import json
import re
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Annotated, Any, Union, get_args, get_origin

import typing_extensions
from pydantic import TypeAdapter, ValidationError
from pydantic_core import from_json

from ._nesting import MAX_NESTING, text_too_deep
from .errors import CommandError, ConfigurationError

_MAX_JSON_STARTS = 8  # places tried when prose surrounds the JSON; bounds work on huge replies
_OPENING_FENCE = re.compile(r"\s*(?:```[a-zA-Z0-9_-]*\s*)?")


INSTRUCTION_OPENING = "Reply with only a JSON value, no prose and no code fences, that matches this JSON Schema:\n"


@dataclass(frozen=True)
class OutputSpec:
    """How one output type is asked for and checked.

    Records (pydantic models, dataclasses, TypedDicts) are sent as their own object schema;
    everything else is wrapped as `{"value": <schema>}` because constrained decoders and
    models handle a top-level object best.
    """

    type: Any
    adapter: TypeAdapter[Any]
    schema: dict[str, Any] | None
    wrapped: bool

    @property
    def is_text(self) -> bool:
        return self.schema is None

    @property
    def type_name(self) -> str:
        return getattr(self.type, "__name__", None) or repr(self.type).replace("typing.", "")

    @cached_property
    def instruction(self) -> str:
        """The system-prompt sentence that tells the model the shape of its answer."""
        assert self.schema is not None
        return INSTRUCTION_OPENING + json.dumps(self.schema, separators=(",", ":"))

    def parse(self, text: str) -> Any:
        """Turn the model's final text into a validated value, or raise `CommandError` carrying the text."""
        if self.is_text:
            return text
        depth = text_too_deep(text)
        if depth is not None:
            raise CommandError(
                f"The reply is nested {depth} levels deep; alloy_nb reads at most {MAX_NESTING} levels "
                f"(is {self.type_name} recursive without an end?). Raw reply: {_preview(text)}",
                raw_text=text,
            )
        if not self.wrapped:
            try:  # the common case, a bare JSON record, parsed and validated in one step
                return self.adapter.validate_json(text)
            except ValidationError:
                pass  # fences, prose around the JSON, or a real mismatch: take the tolerant path
        first_problem: ValidationError | None = None
        for data in _json_values(text):  # the first that validates: prose may hold a stray `[1]` before it
            if self.wrapped and isinstance(data, dict) and set(data) == {"value"}:
                data = data["value"]
            try:
                return self.adapter.validate_python(data)
            except ValidationError as exc:
                first_problem = first_problem or exc
        if first_problem is None:
            return self._validate_plain_text(text)
        raise CommandError(
            f"Failed to parse the model's output as {self.type_name}: {_first_problem(first_problem)}. "
            f"Raw reply: {_preview(text)}",
            raw_text=text,
        )

    def parse_partial(self, text: str) -> Any:
        """The value the JSON so far describes, or None while it describes none yet (a record lacking a
        required field): pydantic's partial validation, so the last string or item may be incomplete.
        One parse of `text`: call it when the value is to be shown, never per streamed piece."""
        if self.is_text:
            return text
        opening = _OPENING_FENCE.match(text)  # blanks, and a code fence the model opened
        try:
            data = from_json(text[opening.end() :] if opening else text, allow_partial="trailing-strings")
        except ValueError:
            return None
        if self.wrapped and isinstance(data, dict):  # a bare value is read as `parse` reads it
            if "value" not in data:
                return None
            data = data["value"]
        try:
            return self.adapter.validate_python(data, experimental_allow_partial=True)
        except ValidationError:
            return None

    def dump_json(self, value: Any) -> str:
        """A value of this type as indented JSON (how a streamed typed cell shows it while it grows)."""
        return self.adapter.dump_json(value, indent=2).decode()

    def _validate_plain_text(self, text: str) -> Any:
        try:
            return self.adapter.validate_python(text.strip())
        except ValidationError:
            raise CommandError(
                f"Failed to parse the model's output as {self.type_name}: the reply is not JSON. "
                f"Raw reply: {_preview(text)}",
                raw_text=text,
            ) from None


def output_spec(output_type: Any) -> OutputSpec:
    """The (cached) OutputSpec of a type; `str` means plain text."""
    try:
        return _cached_spec(output_type)
    except TypeError:  # an unhashable annotation: build it uncached
        return _build_spec(output_type)


@lru_cache(maxsize=256)
def _cached_spec(output_type: Any) -> OutputSpec:
    return _build_spec(output_type)


def _build_spec(output_type: Any) -> OutputSpec:
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(portable_type(output_type))
    except Exception as exc:
        raise ConfigurationError(f"Output type {output_type!r} cannot be described by pydantic: {exc}") from None
    if output_type is str:
        return OutputSpec(output_type, adapter, None, False)
    schema = strip_titles(adapter.json_schema())
    if schema.get("type") == "object" and "properties" in schema:
        return OutputSpec(output_type, adapter, schema, False)
    defs = schema.pop("$defs", None)
    wrapped: dict[str, Any] = {"type": "object", "properties": {"value": schema}, "required": ["value"]}
    if defs:
        wrapped["$defs"] = defs
    return OutputSpec(output_type, adapter, wrapped, True)


def portable_type(annotation: Any) -> Any:
    """`annotation` with every `typing.TypedDict` in it rebuilt as a `typing_extensions.TypedDict`
    (same name, keys and required keys), which pydantic needs before Python 3.12.

    >>> class Point(typing.TypedDict):
    ...     x: int
    >>> TypeAdapter(portable_type(list[Point])).validate_python([{"x": "3"}])
    [{'x': 3}]
    """
    if sys.version_info >= (3, 12):
        return annotation
    return _portable(annotation, ())


def _portable(annotation: Any, building: tuple[Any, ...]) -> Any:
    if typing_extensions.is_typeddict(annotation) and type(annotation).__module__ == "typing":
        return _rebuilt_typeddict(annotation, building)
    arguments = get_args(annotation)
    if not arguments:
        return annotation
    portable = tuple(_portable(argument, building) for argument in arguments)
    if all(new is old for new, old in zip(portable, arguments, strict=True)):
        return annotation
    origin = get_origin(annotation)
    if origin is Annotated:
        parameters = (portable[0], *annotation.__metadata__)
        return Annotated[parameters]
    if origin in (Union, types.UnionType):
        return Union[portable]  # noqa: UP007 (the arguments are a runtime tuple)
    return origin[portable if len(portable) > 1 else portable[0]]


def _rebuilt_typeddict(cls: Any, building: tuple[Any, ...]) -> Any:
    if cls in building:
        raise ConfigurationError(
            f"{cls.__name__} refers to itself; on Python before 3.12 write it with typing_extensions.TypedDict."
        )
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {}
    for name, hint in hints.items():
        marker = get_origin(hint)  # written on the key; under postponed annotations `__required_keys__` misses it
        if marker in (typing_extensions.Required, typing_extensions.NotRequired):
            hint = get_args(hint)[0]
        else:
            marker = typing_extensions.Required if name in cls.__required_keys__ else typing_extensions.NotRequired
        fields[name] = marker[_portable(hint, (*building, cls))]
    rebuilt = typing_extensions.TypedDict(cls.__name__, fields)  # type: ignore[misc]
    rebuilt.__doc__, rebuilt.__module__, rebuilt.__qualname__ = cls.__doc__, cls.__module__, cls.__qualname__
    return rebuilt


def strip_titles(schema: Any) -> Any:
    """Drop pydantic's auto-generated `title` keys (noise for models), keeping property names intact."""
    if isinstance(schema, list):
        return [strip_titles(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            result[key] = {name: strip_titles(sub) for name, sub in value.items()}
        else:
            result[key] = strip_titles(value)
    return result


def _unfenced(text: str) -> str:
    """The inside of a reply that is one code block (```json ... ```), else the reply.

    >>> _unfenced('```json\\n{"a": 1}\\n```'), _unfenced("```[1]```"), _unfenced("```json [1]")
    ('{"a": 1}', '[1]', '```json [1]')
    """
    if len(text) < 6 or not text.startswith("```") or not text.endswith("```"):
        return text
    inside = text[3:-3]
    language = len(inside) - len(inside.lstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"))
    return inside[language:].strip()


def _json_values(text: str) -> Iterator[Any]:
    """The JSON in a reply: the whole reply (a code fence taken off) when it is one JSON value, else
    each JSON object or array that prose surrounds, in order (never one nested in another; at most
    `_MAX_JSON_STARTS` places tried, which bounds the work on a huge reply)."""
    stripped = _unfenced(text.strip())
    try:
        yield json.loads(stripped)
        return
    except (json.JSONDecodeError, RecursionError):  # RecursionError: nested deeper than Python's stack
        pass
    decoder = json.JSONDecoder()
    after = tries = 0  # where the last value found ends; places tried
    for index, char in enumerate(stripped):
        if char not in "{[" or index < after:
            continue
        if tries == _MAX_JSON_STARTS:
            return
        tries += 1
        try:
            value, after = decoder.raw_decode(stripped, index)
        except (json.JSONDecodeError, RecursionError):
            continue
        yield value


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]


def _preview(text: str, limit: int = 300) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")
