"""A typed call's value as HTML: its JSON, pretty and highlighted, with the Python value a click away.

The JSON is what the model's reply became once validated, so it reads like what the model wrote; the
Python `repr` (a pydantic model's fields, a dataclass, an enum member) sits folded below it. Both are
text from the model: their control and invisible characters are shown, and every character escaped.
"""

from __future__ import annotations

from .._visible import visible
from .reply import highlighted_code
from .style import page
from .text import shown


def value_html(json_text: str, python_repr: str) -> str:
    """`json_text` shown as highlighted JSON, then `python_repr` in a folded "Python value"."""
    readable = visible(json_text)
    body = highlighted_code(readable, "json") or shown(readable)
    return page(
        f'<div class="av-value"><pre class="av-json"><code>{body}</code></pre>'
        f"<details><summary>Python value</summary><pre>{shown(python_repr)}</pre></details></div>",
        "reply",
    )
