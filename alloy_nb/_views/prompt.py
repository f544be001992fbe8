"""The rendered prompt: the exact text a model reads, special tokens and all, escaped and with control
and invisible characters shown as stand-ins, so nothing in it is live or hidden."""

from __future__ import annotations

import json
from typing import Any

from .._visible import visible_html
from .style import page


def rendered_prompt_html(text: str, where: str, grammar: dict[str, Any] | None) -> str:
    """`text` as one preformatted block under a line naming the model and host (`where`), then the
    grammar that would constrain the reply, if the server said."""
    head = f'<div class="av-muted">The prompt {visible_html(where)} would read ({len(text)} characters):</div>'
    body = f'<pre class="av-prompt">{visible_html(text)}</pre>'
    return page(head + body + _grammar(grammar), "tokens")


def _grammar(grammar: dict[str, Any] | None) -> str:
    if grammar is None:
        return '<div class="av-note">No grammar: the reply is free text.</div>'
    kind = {"tool_calls": "the tool-call envelope", "format": "the format schema", "json": "any JSON"}
    label = kind.get(str(grammar.get("kind")), str(grammar.get("kind")))
    schema = grammar.get("schema")
    shown = f'<pre class="av-prompt">{visible_html(json.dumps(schema, indent=2))}</pre>' if schema else ""
    return f"<details><summary>The reply is constrained by a grammar: {visible_html(label)}</summary>{shown}</details>"
