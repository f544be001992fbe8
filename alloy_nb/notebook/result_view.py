"""How a `%%alloy` reply is shown: `-f markdown|text|code|json|html`, and typed values."""

from __future__ import annotations

import html
import json
from typing import Any

FORMATS = ("markdown", "text", "code", "json", "html")


def text_bundle(text: str, fmt: str) -> dict[str, Any]:
    """A MIME bundle for a text reply. Markdown is left to the front end's sanitizer; `html`
    goes into a sandboxed iframe (no scripts), so model output is never trusted HTML."""
    plain = {"text/plain": text}
    if fmt == "markdown":
        return {"text/markdown": text, **plain}
    if fmt == "code":
        fence = "````" if "```" in text else "```"
        return {"text/markdown": f"{fence}\n{text}\n{fence}", **plain}
    if fmt == "json":
        try:
            return {"application/json": json.loads(text), **plain}
        except json.JSONDecodeError:
            return plain
    if fmt == "html":
        frame = f'<iframe sandbox="" style="width:100%;border:0" srcdoc="{html.escape(text, quote=True)}"></iframe>'
        return {"text/html": frame, **plain}
    return plain


def value_bundle(value: Any) -> dict[str, Any]:
    """A typed value: its own rich repr when it has one, else its text repr (escaped if shown as HTML)."""
    from IPython.core.formatters import format_display_data

    data, _ = format_display_data(value)
    return data
