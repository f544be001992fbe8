"""What a model can do, as HTML: its capabilities as small badges and the facts `/api/show` gives."""

from __future__ import annotations

from collections.abc import Sequence

from .._visible import visible_html
from .style import page


def model_info_html(name: str, capabilities: Sequence[str], facts: Sequence[tuple[str, str]]) -> str:
    """The model's name, its capability badges and a table of (label, value) facts, escaped."""
    cells = "".join(f"<tr><th>{visible_html(label)}</th><td>{visible_html(value)}</td></tr>" for label, value in facts)
    body = f'<div><b>{visible_html(name)}</b> {_badges(capabilities)}<table class="av-facts">{cells}</table></div>'
    return page(body, "badges")


def capability_line_html(capabilities: Sequence[str], facts: Sequence[str]) -> str:
    """One line for the picker: the badges, then the facts that are known (`context 8,192 tokens · 135M`)."""
    shown = visible_html(" · ".join(fact for fact in facts if fact))
    return page(f'{_badges(capabilities)}<span class="av-muted">{shown}</span>', "badges")


def _badges(capabilities: Sequence[str]) -> str:
    return "".join(f'<span class="av-badge">{visible_html(capability)}</span>' for capability in capabilities)
