"""How a `%%alloy` reply is shown: `-f markdown|text|code|json|html`, and typed values.

Every HTML view of a reply is built by `views/reply.py`: nothing the model wrote becomes live HTML.
"""

from __future__ import annotations

import json
from typing import Any

from ..views.reply import code_html, markdown_html, sandboxed_html

FORMATS = ("markdown", "text", "code", "json", "html")


def text_bundle(text: str, fmt: str) -> dict[str, Any]:
    """A MIME bundle for a text reply; `html` goes into a sandboxed iframe that runs and loads nothing."""
    plain = {"text/plain": text}
    if fmt == "markdown":
        return {"text/html": markdown_html(text), **plain}
    if fmt == "code":
        return {"text/html": code_html(text), **plain}
    if fmt == "json":
        try:
            return {"application/json": json.loads(text), **plain}
        except json.JSONDecodeError:
            return plain
    if fmt == "html":
        return {"text/html": sandboxed_html(text), **plain}
    return plain


def value_bundle(value: Any) -> dict[str, Any]:
    """A typed value: its own rich repr when it has one, else its text repr."""
    from IPython.core.formatters import format_display_data

    data, _ = format_display_data(value)
    return dict(data)
