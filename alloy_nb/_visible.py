"""Text from a model, a tool, a server or the call log as it can be shown: every character that would be
obeyed or hidden instead of drawn becomes a visible stand-in.

A terminal obeys control characters: OSC 52 (`ESC ] 52`) writes the clipboard, `ESC [2J` clears the
screen, OSC 8 makes a link, a lone carriage return overwrites the line. Unicode's format characters
(bidi overrides and isolates, zero-width spaces and joiners, tag characters) are drawn as nothing, so
`invoice\\u202efdp.exe` reads as `invoiceexe.pdf` in a browser and a terminal alike.

The stand-in: a C0 control or DEL becomes its Unicode control picture (`␛` for ESC, `␇` for BEL,
`␀` for NUL); a C1 control, a format character (category Cf) or a lone surrogate (which no terminal
can be sent: bytes that were not UTF-8, decoded with `surrogateescape`) becomes its code point, `<U+202E>`.
Newlines, tabs and `\\r\\n` stay: they lay text out and cannot hide or run anything.
HTML views escape the shown text as before (`visible_html`); JSON keeps the exact text with JSON's
own escapes (`visible_json`).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

# C0 but tab and newline, a carriage return not ending a line, DEL and C1, lone surrogates, then every
# Unicode format character (category Cf, up to Unicode 15.1; tests/unit/test_invisible_characters.py
# checks this list against the running Python's).
_UNSHOWN = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]|\r(?!\n)"
    r"|[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    r"\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
_PICTURES = 0x2400  # U+2400 CONTROL PICTURE FOR NULL; the C0 pictures follow in order


def visible(text: str) -> str:
    """`text` with each control and format character replaced by its stand-in.

    >>> visible("\\x1b]52;c;aGk=\\x07 invoice\\u202efdp.exe")
    '␛]52;c;aGk=␇ invoice<U+202E>fdp.exe'
    """
    return _UNSHOWN.sub(_stand_in, text)


def visible_html(text: str) -> str:
    """`text` shown (see `visible`) and escaped for HTML, in element text and quoted attributes alike."""
    return html.escape(visible(text), quote=True)


def visible_json(value: Any) -> str:
    """`value` as one line of JSON whose text stays exact: the characters `visible` replaces are
    written as JSON escapes (`\\u001b`, `\\u202e`), so printing the line runs and hides nothing.

    >>> visible_json({"name": "a\\u202eb", "text": "é\\x9b"})
    '{"name": "a\\\\u202eb", "text": "é\\\\u009b"}'
    """
    return visible_json_text(json.dumps(value, ensure_ascii=False, default=str))


def visible_json_text(text: str) -> str:
    """JSON text (indented or not) with the characters `visible` replaces written as JSON escapes: the
    same JSON, which prints without running or hiding anything (outside its strings, JSON text holds
    only ASCII punctuation, digits, letters and layout).

    >>> visible_json_text('{\\n  "name": "a\\u202eb"\\n}')
    '{\\n  "name": "a\\\\u202eb"\\n}'
    """
    return _UNSHOWN.sub(_json_escape, text)


def _stand_in(match: re.Match[str]) -> str:
    point = ord(match[0])
    if point < 0x20:
        return chr(_PICTURES + point)
    if point == 0x7F:
        return "\u2421"  # SYMBOL FOR DELETE
    return f"<U+{point:04X}>"


def _json_escape(match: re.Match[str]) -> str:
    return json.dumps(match[0])[1:-1]  # ASCII-only JSON: a \u escape (a surrogate pair above U+FFFF)
