"""JSON schemas -> llama.cpp grammars whose strings are JSON strings, as Ollama's are.

The app has already refused schemas that ask for too much (`schema_checks`); what the converter
still cannot follow (a keyword it does not know, a `$ref` the checks could not judge) is the
client's to fix, so it is a `SchemaError`, never an engine failure.
"""

from __future__ import annotations

import json
from typing import Any

from alloy_nb.server.schema_checks import MAX_GRAMMAR_CHARS

# llama-cpp-python's converter lets a string hold raw newlines and other control characters, which
# JSON forbids (`json.loads` refuses them); llama.cpp's own converter, which Ollama uses, does not.
JSON_CHAR = r'char ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])'
_MESSAGE_CHARS = 300  # of the converter's own message, which may quote the whole schema


class SchemaError(ValueError):
    """A JSON schema no grammar can be built from."""


def schema_grammar(schema: dict[str, Any]) -> str:
    """The GBNF (with a `root` rule) of the JSON documents `schema` allows; SchemaError if there is none."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        rules = str(json_schema_to_gbnf(json.dumps(_without_root_ref(schema)))).splitlines()
    except (ValueError, TypeError, LookupError, AttributeError, AssertionError, RecursionError) as error:
        detail = f"{type(error).__name__}: {error}"[:_MESSAGE_CHARS]
        raise SchemaError(
            f"llama.cpp cannot build a grammar from it ({detail}); check its types, counts and $refs"
        ) from None
    grammar = "\n".join(JSON_CHAR if rule.startswith("char ::= ") else rule for rule in rules)
    if len(grammar) > MAX_GRAMMAR_CHARS:
        raise SchemaError(
            f"its grammar has {len(grammar):,} characters, over the {MAX_GRAMMAR_CHARS:,} this server builds "
            "for one request; lower its counts (maxLength, maxItems, ...) or ask for fewer fields"
        )
    return grammar


def _without_root_ref(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with a top-level `$ref` (pydantic writes one for a recursive model) as a one-way `anyOf`.

    The converter resolves the `$ref`s inside a schema object's other keywords only when the object
    has no `$ref` of its own, so the `$defs` beside a top-level one stayed unresolved (a KeyError).

    >>> _without_root_ref({"$defs": {"A": {}}, "$ref": "#/$defs/A"})
    {'$defs': {'A': {}}, 'anyOf': [{'$ref': '#/$defs/A'}]}
    """
    if "$ref" not in schema:
        return schema
    rest = {key: value for key, value in schema.items() if key != "$ref"}
    return {**rest, "anyOf": [{"$ref": schema["$ref"]}]}
