"""One-line notes as HTML: a running call's status, the footer under a reply, the picker's host status
and an error, all escaped."""

from __future__ import annotations

from .._visible import visible_html
from .style import page


def status_line_html(line: str) -> str:
    """What a `%%alloy` cell is doing now (`tool add running…`)."""
    return f"<i>{visible_html(line)}</i>"


def footer_html(footer: str) -> str:
    """The footer under a reply, each of its lines (a warning has one of its own) kept."""
    shown = "<br>".join(visible_html(line) for line in footer.splitlines())
    return f'<div class="alloy-footer"><sub>{shown}</sub></div>'


def host_status_html(text: str, strategy: str) -> str:
    """The picker's status: `text` about the host, then the strategy the next call uses, in bold."""
    return f"{visible_html(text)}<b>{visible_html(strategy)}</b>"


def error_html(message: str) -> str:
    """`message` in the error colour."""
    return page(f'<span class="av-error">{visible_html(message)}</span>')
