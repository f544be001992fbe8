"""Checks on a request's JSON schemas (``format``, ``response_format``, tool parameters) before any
engine builds a grammar or an example from them: counts, grammar size, types and ``$ref``s.

A schema is small but what it asks for need not be: ``{"minItems": 60000000}`` is 200 bytes, and
llama-cpp-python's converter wrote it out as a 1 GB grammar (37 s, 5.8 GB, the event loop frozen);
larger counts killed the process. llama.cpp itself refuses an optional repetition of more than 1000
("exceeds sane defaults"), so no count above MAX_REPEAT could be served anyway. Counts that each
pass still add up: compiling a grammar costs the decoding thread about 0.13 s and 50 MB per million
characters (8 million: 1 s, 500 MB), so the size of the grammar a schema asks for is estimated
before it is built and bounded by MAX_GRAMMAR_CHARS. Every engine refuses the same schemas (400),
so the demo engine stands in for the embedded model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from alloy_nb.server.engines import ChatRequest
from alloy_nb.server.wire import BadRequest

MAX_REPEAT = 1000  # the most repetitions one count (or one pattern quantifier) may ask for
MAX_GRAMMAR_CHARS = 1_000_000  # the largest grammar the schemas of one request may ask for

TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")
COUNTS = ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties")
# Characters of grammar each repetition writes, besides a rule name (llama-cpp-python 0.3's converter);
# min/maxProperties write none but still bound what a reply must hold.
_PER_REPEAT = {"minItems": 16, "maxItems": 16, "minLength": 8, "maxLength": 8, "pattern": 8}
_RULE = 24  # characters of a rule besides its name
_SCHEMA = ("items", "additionalProperties", "not", "contains", "if", "then", "else", "propertyNames")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems", "items")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_QUANTIFIER = re.compile(r"\{(\d*)(?:,(\d*))?\}")


def check_schemas(request: ChatRequest) -> None:
    """Raise BadRequest naming the first problem in the request's schemas, and where it is."""
    spent = 0
    schemas = [(request.format, "response_format" if request.api == "openai" else "format")]
    schemas += [(tool.parameters, f"tool {tool.name!r} parameters") for tool in request.tools]
    for schema, where in schemas:
        if isinstance(schema, dict):
            walk = _Walk(schema, spent)
            problem = walk.problem()
            if problem is not None:
                raise BadRequest(f"invalid JSON schema in {where}: {problem}")
            spent = walk.spent


class _Walk:
    """One schema, walked without recursion: the first problem in it, and the grammar it asks for."""

    def __init__(self, root: dict[str, Any], spent: int) -> None:
        self._root = root
        self.spent = spent
        self._nodes: list[dict[str, Any]] = []

    def problem(self) -> str | None:
        pending: list[tuple[Any, int]] = [(self._root, 0)]  # a schema and the length of its rule's name
        while pending:
            node, name = pending.pop()
            if not isinstance(node, dict):
                continue  # `true` and `false` are schemas too; anything else the converter reports
            problem = self._node(node, name)
            if problem is not None:
                return problem
            if self.spent > MAX_GRAMMAR_CHARS:
                return (
                    f"it asks for a grammar of over {MAX_GRAMMAR_CHARS:,} characters, the most this server "
                    "builds for one request; lower its counts (maxLength, maxItems, ...) or ask for fewer fields"
                )
            self._nodes.append(node)
            pending.extend(self._children(node, name))
        return self._loop()

    def _node(self, node: dict[str, Any], name: int) -> str | None:
        """What is wrong with one schema object, if anything; adds its share of the grammar."""
        self.spent += _RULE + name
        for keyword in COUNTS:
            if keyword in node:
                count = node[keyword]
                if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                    return f'"{keyword}": {json.dumps(count)[:40]} is not a count: expected a whole number from 0'
                if count > MAX_REPEAT:
                    return _too_many(f'"{keyword}": {count}')
                self.spent += count * (_PER_REPEAT.get(keyword, 0) + (name if "Items" in keyword else 0))
        for value in ("enum", "const"):
            if value in node:
                try:
                    self.spent += len(json.dumps(node[value]))
                except RecursionError:
                    return f'"{value}" is nested too deeply to write as a grammar'
        return self._type(node.get("type")) or self._pattern(node.get("pattern"), name) or self._ref(node)

    def _type(self, kind: Any) -> str | None:
        kinds = kind if isinstance(kind, list) else [kind]
        if kind is None or all(k in TYPES for k in kinds):
            return None
        return f'"type": {json.dumps(kind)[:60]} is not a JSON type: expected one of {", ".join(TYPES)}'

    def _pattern(self, pattern: Any, name: int) -> str | None:
        if pattern is None:
            return None
        if not isinstance(pattern, str):
            return '"pattern" must be a regular expression in a string'
        for quantifier, count, repetitions in _quantifiers(pattern):
            if count > MAX_REPEAT:
                return _too_many(f'"pattern" quantifier {quantifier}')
            if repetitions > MAX_REPEAT:
                return _too_many(f'"pattern" quantifier {quantifier}, with those of the groups it is in,')
            self.spent += count * (_PER_REPEAT["pattern"] + name)
        return None

    def _ref(self, node: dict[str, Any]) -> str | None:
        if "$ref" not in node:
            return None
        ref = node["$ref"]
        if not isinstance(ref, str):
            return f'"$ref": {json.dumps(ref)[:40]} is not a reference: expected text such as "#/$defs/NAME"'
        if not ref.startswith("#/"):
            return (
                f'"$ref": {json.dumps(ref)[:120]} points outside the schema, which this server never follows; '
                'put the definition in "$defs" and refer to it as "#/$defs/NAME"'
            )
        if self._target(ref) is None:
            return f'"$ref": {json.dumps(ref)[:120]} points at nothing in the schema; expected a schema object there'
        return None

    def _target(self, ref: str) -> dict[str, Any] | None:
        target: Any = self._root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        return target if isinstance(target, dict) else None

    def _children(self, node: dict[str, Any], name: int) -> Iterator[tuple[Any, int]]:
        """The schemas inside `node`, each with the length of its rule's name."""
        for keyword in _SCHEMA:
            if isinstance(node.get(keyword), dict):
                yield node[keyword], name + len(keyword) + 1
        for keyword in _SCHEMA_LISTS:
            if isinstance(node.get(keyword), list):
                self.spent += len(node[keyword])
                yield from ((item, name + len(keyword) + 4) for item in node[keyword])
        for keyword in _SCHEMA_MAPS:
            if isinstance(node.get(keyword), dict):
                self.spent += len(node[keyword])
                yield from ((schema, name + len(key) + 1) for key, schema in node[keyword].items())

    def _loop(self) -> str | None:
        """A `$ref` that leads back to itself through `$ref`s, alternatives and `allOf` parts alone,
        before any value is written: a grammar rule that starts with itself (llama.cpp refuses it; no
        example ends)."""
        on_path: dict[int, bool] = {}  # True while a node is on the path, False once explored
        for start in self._nodes:
            path: list[dict[str, Any]] = []
            pending: list[dict[str, Any] | None] = [start]
            while pending:
                node = pending.pop()
                if node is None:  # every way on from the path's last node is explored
                    on_path[id(path.pop())] = False
                    continue
                state = on_path.get(id(node))
                if state:
                    loop = path[next(i for i, seen in enumerate(path) if seen is node) :]
                    ref = next(seen["$ref"] for seen in loop if "$ref" in seen)
                    return (
                        f'"$ref": {json.dumps(ref)[:120]} leads back to itself before any value is written; '
                        "put an object property or an array item on the way, or remove the loop"
                    )
                if state is None:
                    on_path[id(node)] = True
                    path.append(node)
                    pending.append(None)
                    pending.extend(self._first(node))
        return None

    def _first(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        """The schemas a value of `node` starts as: its `$ref`'s target, or each of its parts."""
        if "$ref" in node:  # (a target outside the walked schemas may hold any `$ref`)
            ref = node["$ref"]
            target = self._target(ref) if isinstance(ref, str) and ref.startswith("#/") else None
            return [] if target is None else [target]
        parts = [node.get(keyword) for keyword in ("anyOf", "oneOf", "allOf")]
        return [item for items in parts if isinstance(items, list) for item in items if isinstance(item, dict)]


def _quantifiers(pattern: str) -> Iterator[tuple[str, int, int]]:
    """Each bounded quantifier of a regular expression: its text, its larger bound, and the repetitions
    it makes with the quantifiers inside the group it repeats. Nested ones multiply, and a grammar
    matches `(a{0,300}){0,300}` in 90,000 ways at once (29 s for one letter; 1000 x 1000 never ends).

    >>> [repetitions for _, _, repetitions in _quantifiers(r"^(\\d{1,3}\\.){3}[{]{2}(a{0,30}){0,30}$")]
    [3, 9, 2, 30, 900]
    """
    inside = [1]  # per open group: the most repetitions a quantifier in it makes
    last, at = 1, 0  # the repetitions the atom just before `at` makes
    while at < len(pattern):
        quantifier = _QUANTIFIER.match(pattern, at)
        if quantifier is not None:
            count = max((int(bound) for bound in quantifier.groups() if bound), default=0)
            last *= max(count, 1)
            inside[-1] = max(inside[-1], last)
            yield quantifier[0], count, last
            at = quantifier.end()
            continue
        char = pattern[at]
        if char == "(":
            inside.append(1)
        elif char == ")" and len(inside) > 1:
            last = inside.pop()
            inside[-1] = max(inside[-1], last)
            at += 1
            continue
        elif char == "\\":
            at += 1
        elif char == "[":
            at = _class_end(pattern, at)
        last = 1
        at += 1


def _class_end(pattern: str, at: int) -> int:
    """Where the character class opened at `at` closes (as the converter reads it: escapes skipped)."""
    at += 1
    while at < len(pattern) and pattern[at] != "]":
        at += 2 if pattern[at] == "\\" else 1
    return at


def _too_many(what: str) -> str:
    return (
        f"{what} asks for more repetitions than a grammar can hold: use at most {MAX_REPEAT}, "
        "or leave the bound out and check the reply's size yourself"
    )
