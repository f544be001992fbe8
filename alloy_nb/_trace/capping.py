"""Strings cut to a trace's limit, and a trace's data as plain values without recursion (for data
too deep for pydantic to dump)."""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass, replace
from typing import Any

from pydantic import BaseModel

from .._messages import MESSAGE_TYPES
from .._nesting import MAX_NESTING, cut_deeper_than, value_depth
from .events import RECORDS


def plain_data(model: Any) -> Any:
    """A record's or model's fields as plain data, without recursion (for data too deep for pydantic to dump)."""
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(model, root, 0)]
    while stack:
        item, parent, key = stack.pop()
        if isinstance(item, BaseModel) or (is_dataclass(item) and not isinstance(item, type)):
            parent[key] = record = dict[str, Any]()
            stack.extend((getattr(item, name), record, name) for name in _field_names(item))
        elif isinstance(item, dict):
            parent[key] = mapping = dict[Any, Any]()
            stack.extend((child, mapping, name) for name, child in item.items())
        elif isinstance(item, (list, tuple)):
            parent[key] = items = [None] * len(item)
            stack.extend((child, items, index) for index, child in enumerate(item))
        else:
            parent[key] = item
    return root[0]


_DATA_URI = re.compile(r"data:[\w.+-]+/[\w.+-]+(?:;[\w.+-]+=[\w.+-]+)*;base64,")


def capped(value: Any, limit: int) -> Any:
    """`value` with every string longer than `limit` cut, saying how much was cut; a data URI (an image)
    is not cut but replaced by the note, as half of one shows nothing and breaks where it is used.

    Nothing is copied when nothing is too long; models inside are cut in place.

    >>> capped("data:image/png;base64," + "A" * 200, 100)
    '[a data URI of 222 characters, not kept in the trace; trace_max_chars=100]'
    """
    if not has_long_string(value, limit):
        return value
    if isinstance(value, (dict, list)) and value_depth(value) > MAX_NESTING:  # cutting recurses per level
        value = cut_deeper_than(value)
    if isinstance(value, str):
        if _DATA_URI.match(value):
            return f"[a data URI of {len(value)} characters, not kept in the trace; trace_max_chars={limit}]"
        return (
            value[:limit] + f"… [{len(value) - limit} more characters not kept in the trace; trace_max_chars={limit}]"
        )
    if isinstance(value, dict):
        return {key: capped(item, limit) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(capped(item, limit) for item in value)
    if isinstance(value, MESSAGE_TYPES):  # frozen, and shared with the running call: cut a copy
        return replace(value, **{name: capped(getattr(value, name), limit) for name in _field_names(value)})
    cap_fields(value, limit)
    return value


def cap_fields(record: Any, limit: int) -> None:
    for name in _field_names(record):
        item = getattr(record, name)
        if has_long_string(item, limit):
            setattr(record, name, capped(item, limit))


def _field_names(record: Any) -> list[str]:
    """The fields a record or model keeps in its JSON."""
    if isinstance(record, BaseModel):
        return [name for name, info in type(record).model_fields.items() if not info.exclude]
    return [f.name for f in fields(record) if not f.metadata.get("bookkeeping")]


def has_long_string(value: Any, limit: int) -> bool:
    """Whether a string longer than `limit` is anywhere in `value` (found without recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if len(item) > limit:
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, RECORDS):
            stack.extend(getattr(item, name) for name in _field_names(item))
        elif isinstance(item, BaseModel):
            stack.extend(item.__dict__.values())
    return False
