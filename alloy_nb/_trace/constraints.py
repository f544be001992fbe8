"""Which constraints a request went out under, read from its body as sent: what the trace view and the
summary say, so a class sees whether the server or the model did the work.

The server enforces an output schema when the body carries one (`format` on /api/chat,
`response_format` on /v1/chat/completions, `text.format` on /v1/responses); a typed call without it
asks for the schema in the prompt only. A request that offers tools gets the embedded server's
tool-call grammar unless the body says `_tool_grammar: false` (Ollama forces no grammar: there the
model's template does the parsing), and `parallel_tool_calls: false` allows one call per turn; on
/api/chat both ride in `options` (`tool_grammar`, `parallel_tool_calls`).
"""

from __future__ import annotations

from typing import Any


def request_constraints(body: Any, *, typed_output: bool) -> str | None:
    """One line on the constraints of a request `body`; None when it neither wants typed output nor
    offers tools (nothing to constrain).

    >>> request_constraints({"format": {"type": "object"}}, typed_output=True)
    'output schema enforced by the server (format)'
    >>> request_constraints({"tools": [{}], "_tool_grammar": False, "parallel_tool_calls": False}, typed_output=True)
    'schema in the prompt only · no tool-call grammar · one tool call per turn'
    >>> request_constraints({"messages": []}, typed_output=False) is None
    True
    """
    if not isinstance(body, dict):
        return None
    parts = []
    field = schema_field(body)
    if field is not None:
        parts.append(f"output schema enforced by the server ({field})")
    elif typed_output:
        parts.append("schema in the prompt only")
    if body.get("tools"):
        grammar_off = _switch(body, "_tool_grammar") is False
        parts.append(
            "no tool-call grammar"
            if grammar_off
            else "tool-call grammar if the server has one (the embedded model's does)"
        )
        if _switch(body, "parallel_tool_calls") is False:
            parts.append("one tool call per turn")
    return " · ".join(parts) or None


def _switch(body: dict[str, Any], name: str) -> Any:
    """A tool-call switch: top level on the /v1 APIs, in `options` (without the underscore) on /api/chat."""
    options = body.get("options")
    if isinstance(options, dict) and name.lstrip("_") in options:
        return options[name.lstrip("_")]
    return body.get(name)


def schema_field(body: dict[str, Any]) -> str | None:
    """The field of `body` that carries an output schema for the server to enforce, if any."""
    if body.get("format"):
        return "format"
    if isinstance(body.get("response_format"), dict) and body["response_format"].get("type") != "text":
        return "response_format"
    text = body.get("text")
    if isinstance(text, dict) and isinstance(text.get("format"), dict) and text["format"].get("type") != "text":
        return "text.format"
    return None
