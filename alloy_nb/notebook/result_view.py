"""How a `%%alloy` reply is shown: `-f markdown|text|code|json|html`, and typed values.

Every HTML view of a reply is built by `safe_text`: nothing the model wrote becomes live HTML.
"""

from __future__ import annotations

import html
import json
from typing import Any

from .safe_text import code_html, markdown_html

FORMATS = ("markdown", "text", "code", "json", "html")
# The `html` view runs no script (sandbox) and loads nothing (CSP): a remote image could carry data out.
_NOTHING_LOADS = (
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
)


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
        document = html.escape(_NOTHING_LOADS + text, quote=True)
        frame = f'<iframe sandbox="" style="width:100%;border:0" srcdoc="{document}"></iframe>'
        return {"text/html": frame, **plain}
    return plain


def value_bundle(value: Any) -> dict[str, Any]:
    """A typed value: its own rich repr when it has one, else its text repr."""
    from IPython.core.formatters import format_display_data

    data, _ = format_display_data(value)
    return dict(data)
