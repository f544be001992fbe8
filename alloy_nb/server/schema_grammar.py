"""JSON schemas -> llama.cpp grammars whose strings are JSON strings, as Ollama's are."""

from __future__ import annotations

import json
from typing import Any

# llama-cpp-python's converter lets a string hold raw newlines and other control characters, which
# JSON forbids (`json.loads` refuses them); llama.cpp's own converter, which Ollama uses, does not.
JSON_CHAR = r'char ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])'


def schema_grammar(schema: dict[str, Any]) -> str:
    """The GBNF (with a `root` rule) of the JSON documents `schema` allows."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    rules = str(json_schema_to_gbnf(json.dumps(schema))).splitlines()
    return "\n".join(JSON_CHAR if rule.startswith("char ::= ") else rule for rule in rules)
