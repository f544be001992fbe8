"""One bound for how deeply nested a reply, tool arguments or a trace may be.

Pydantic and the json module recurse per level, so data nested a few hundred levels deep fails
with a bare `RecursionError` or "Maximum serialization depth exceeded". alloy_nb refuses such
replies and tool arguments with a message naming the bound, and keeps traces serialisable by
cutting what lies deeper.
"""

from __future__ import annotations

import re
from typing import Any

MAX_NESTING = 100  # levels of objects and arrays; far beyond any output type a model should fill

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def text_too_deep(text: str) -> int | None:
    """The depth of the JSON in `text` when it exceeds MAX_NESTING, else None (brackets inside
    strings do not count). Cheap for ordinary text: it cannot nest deeper than it has brackets.

    >>> text_too_deep('{"a": [1, {"b": "]]]"}]}'), text_too_deep("[" * 101 + "]" * 101)
    (None, 101)
    """
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return None
    depth = _scan(text)
    return depth if depth > MAX_NESTING else None


def value_depth(value: Any) -> int:
    """How deeply dicts and lists nest in `value`, found without recursion.

    >>> value_depth({"a": [1, {"b": []}]}), value_depth("x")
    (4, 0)
    """
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def cut_deeper_than(value: Any, limit: int = MAX_NESTING) -> Any:
    """A copy of `value` in which whatever lies deeper than `limit` levels is replaced by a note.

    >>> cut_deeper_than([[["x"]]], limit=2)
    [['… nested deeper than 2 levels: not kept']]
    """
    note = f"… nested deeper than {limit} levels: not kept"
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 0)]
    while stack:
        item, parent, key, level = stack.pop()
        if isinstance(item, (dict, list)) and level >= limit:
            parent[key] = note
        elif isinstance(item, dict):
            parent[key] = mapping = dict[Any, Any]()
            stack.extend((child, mapping, name, level + 1) for name, child in item.items())
        elif isinstance(item, list):
            parent[key] = items = [None] * len(item)
            stack.extend((child, items, index, level + 1) for index, child in enumerate(item))
        else:
            parent[key] = item
    return root[0]


def _scan(text: str) -> int:
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest
