"""How a `%%alloy` reply is shown: `-f markdown|text|code|json|html`, and typed values.

Every HTML view of a reply is built by `_views/reply.py` (a typed value's by `_views/value.py`): nothing
the model wrote becomes live HTML.
"""

from __future__ import annotations

import json
from typing import Any

from .._views.reply import code_html, markdown_html, markdown_page, sandboxed_html
from .._views.value import value_html
from .._visible import visible

FORMATS = ("markdown", "text", "code", "json", "html")


def text_bundle(text: str, fmt: str) -> dict[str, Any]:
    """A MIME bundle for a text reply; `html` goes into a sandboxed iframe that runs and loads nothing. Its
    plain text shows control and invisible characters (a terminal frontend would obey them)."""
    plain = {"text/plain": visible(text)}
    if fmt == "markdown":
        return {"text/html": markdown_page(markdown_html(text)), **plain}
    if fmt == "code":
        return {"text/html": code_html(text), **plain}
    if fmt == "json":
        try:
            return {"application/json": json.loads(text), **plain}
        except (json.JSONDecodeError, RecursionError):  # not JSON, or nested too deep to read: its text
            return plain
    if fmt == "html":
        return {"text/html": sandboxed_html(text), **plain}
    return plain


def value_bundle(value: Any) -> dict[str, Any]:
    """A typed value: its JSON (pretty, highlighted) with its Python repr folded below, when it has a JSON
    form; a value whose type brings its own rich display (`_repr_html_`) keeps it, and one with no JSON
    form shows its text repr."""
    from IPython.core.formatters import format_display_data

    data, _ = format_display_data(value)
    text = data.get("text/plain", repr(value))
    as_json = json_of(value)
    if as_json is None or set(data) - {"text/plain"}:
        return dict(data)
    return {"text/html": value_html(as_json, text), "text/plain": visible(text)}


def json_of(value: Any) -> str | None:
    """`value` as indented JSON: a pydantic model as `model_dump_json` writes it, a dataclass as its
    fields, lists, dicts, enums and dates as pydantic writes them; None when it has no JSON form.

    >>> print(json_of({"name": "Mars", "moons": 2}))
    {
      "name": "Mars",
      "moons": 2
    }
    >>> json_of(object()) is None
    True
    """
    import pydantic_core
    from pydantic import BaseModel

    try:
        if isinstance(value, BaseModel):
            return value.model_dump_json(indent=2)
        return pydantic_core.to_json(value, indent=2).decode()
    except (pydantic_core.PydanticSerializationError, ValueError, TypeError):
        return None
