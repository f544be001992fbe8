"""`%alloy help` as shown: the plain text for a terminal, and HTML that wraps at spaces in a notebook.

JupyterLab shows printed text in a `<pre>` with `word-break: break-all`, so a line longer than the
output area breaks inside a word (`%alloy chat`'s line is 112 characters; about 80 fit at 800 px).
The HTML wraps only at spaces, each wrapped line hanging under where its line's text begins (a
command's summary under the summaries, the usage's flags under the flags), and never inside a word
with a hyphen or a flag with its value (`--max-tokens`, `[-m MODEL]`), where a browser would.
"""

from __future__ import annotations

import html
import re
from typing import Any

from .style import page

_COMMAND = re.compile(r"^(\s*%alloy \S+\s+)")  # "  %alloy chat     " → summaries hang under their first word
_USAGE = re.compile(r"^(\s*%%alloy )\[")  # the cell magic's usage: its flags hang under the first flag


def help_bundle(text: str) -> dict[str, Any]:
    """`text` (`magic_flags.help_text`) as plain text and as HTML that wraps at spaces."""
    return {"text/plain": text, "text/html": help_html(text)}


def help_html(text: str) -> str:
    """Each logical line of `text` as a block of its own, wrapped by the browser at spaces only.

    >>> '<span class="av-word">[-m MODEL]</span> <span class="av-word">[--api X]</span>' in help_html(
    ...     "  %%alloy [-m MODEL]\\n            [--api X]")
    True
    """
    rows = []
    for line in _logical_lines(text.splitlines()):
        if not line.strip():
            rows.append("<div><br></div>")
            continue
        usage = _USAGE.match(line)
        head = _COMMAND.match(line) or usage
        hang = len(head[1]) if head else len(line) - len(line.lstrip()) + 4
        parts = _flag_groups(line) if usage else line.split(" ")
        shown = " ".join(_unbroken(part) for part in parts)
        rows.append(f'<div class="av-hang-{hang}">{shown}</div>')
    return page(f'<div class="av-help">{"".join(rows)}</div>', "help")


def _unbroken(part: str) -> str:
    """`part` escaped, kept on one row when it has a space, a hyphen or a slash, where a browser
    would otherwise break it (`--max-|tokens`, `[-m |MODEL]`)."""
    shown = html.escape(part, quote=False)
    return f'<span class="av-word">{shown}</span>' if any(char in part for char in " -/") else shown


def _logical_lines(lines: list[str]) -> list[str]:
    """The lines, with argparse's continuation lines of the usage joined back onto it (the browser wraps it)."""
    joined: list[str] = []
    in_usage = False
    for line in lines:
        if in_usage and line.startswith(" ") and line.lstrip().startswith("["):
            joined[-1] += " " + line.strip()
            continue
        in_usage = bool(_USAGE.match(line))
        joined.append(line)
    return joined


def _flag_groups(usage: str) -> list[str]:
    """The usage split at the spaces between its bracketed flags, never inside one (`[--think [LEVEL]]`).

    >>> _flag_groups("  %%alloy [-m MODEL] [--think [LEVEL]] [--chat]")
    ['  %%alloy', '[-m MODEL]', '[--think [LEVEL]]', '[--chat]']
    """
    groups, depth = [""], 0
    for index, char in enumerate(usage):
        if char == " " and depth == 0 and groups[-1].strip() and index + 1 < len(usage) and usage[index + 1] == "[":
            groups.append("")
            continue
        depth += {"[": 1, "]": -1}.get(char, 0)
        groups[-1] += char
    return groups
