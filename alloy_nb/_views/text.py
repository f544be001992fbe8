"""Text as the views show it: escaped with its control and invisible characters shown (`visible_html`),
long strings cut with a note, durations and JSON in one form everywhere."""

from __future__ import annotations

import json
from typing import Any

from .._visible import visible_html

MAX_SHOWN_CHARS = 20_000


def shown(value: str) -> str:
    """Shown and escaped for HTML (`visible_html`), cut to MAX_SHOWN_CHARS with a visible note; for element
    text only (the note is markup)."""
    if len(value) <= MAX_SHOWN_CHARS:
        return visible_html(value)
    more = len(value) - MAX_SHOWN_CHARS
    note = f'<span class="av-note">… ({more} more characters; see trace.to_json())</span>'
    return visible_html(value[:MAX_SHOWN_CHARS]) + note


def duration_text(seconds: float | None) -> str:
    """Seconds as people read them.

    >>> duration_text(0.0123), duration_text(1.5), duration_text(None)
    ('12.3 ms', '1.50 s', '–')
    """
    if seconds is None:
        return "–"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def pretty_json(value: Any) -> str:
    """`value` as indented JSON, non-ASCII kept, anything JSON cannot hold as its repr."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=repr)


def pretty_arguments(arguments: Any) -> str:
    """Dict arguments or a JSON string, pretty-printed; a string that is not JSON stays as it came.

    >>> pretty_arguments('{"a": 1}'), pretty_arguments("not json")
    ('{\\n  "a": 1\\n}', 'not json')
    """
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return str(arguments)
    return pretty_json(arguments)
