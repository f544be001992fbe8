"""A reply as its tokens, each tinted by its probability band (a legend under them names each band's
range), with the likeliest alternatives readable without a mouse: a `title` on each token for a hover,
and a table under the reply (in a `<details>`, reachable by keyboard) listing every token's probability
and alternatives. Inert HTML: every token is escaped, control and invisible characters shown as
stand-ins (`visible`).

One pass over the tokens, each distinct token text rendered once: 1,000 tokens with 20 alternatives
each render in about 25 ms (95 ms when each was rendered where it appeared; `python -m bench
token-view` measures the whole `%%alloy --logprobs 20` cell in a kernel)."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from itertools import pairwise

from .._trace.events import TokenLogprob
from .._visible import visible_html, visible_json
from .style import Group, page

TOKEN_GROUPS: tuple[Group, ...] = ("tokens", "table")
BANDS = (0.25, 0.5, 0.75)  # av-p1 below 25%, av-p2 below 50%, av-p3 below 75%, av-p4 from 75%


def tokens_html(tokens: Sequence[TokenLogprob]) -> str:
    """The tokens as tinted text, then the table of their probabilities and alternatives."""
    if not tokens:
        return page('<div class="av-note">No token probabilities: the call did not ask for logprobs.</div>')
    return page(tokens_body(tokens), *TOKEN_GROUPS)


def tokens_body(tokens: Sequence[TokenLogprob]) -> str:
    """The token view without its stylesheet, for views that hold it (style groups `TOKEN_GROUPS`)."""
    spans, rows = _spans_and_rows(tokens)
    table = (
        '<table class="av-table"><thead><tr><th>#</th><th>token</th><th>probability</th>'
        f"<th>alternatives</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return (
        f'<div class="av-tokens">{spans}</div>{band_legend()}'
        f"<details><summary>{len(tokens)} tokens: probabilities and alternatives</summary>"
        f'<div class="av-scroll">{table}</div></details>'
    )


def band(chance: float) -> int:
    """The tint band, 1 (unlikely) to 4 (likely), of a probability.

    >>> band(0.1), band(0.3), band(0.6), band(0.99)
    (1, 2, 3, 4)
    """
    return 1 + sum(chance >= edge for edge in BANDS)


def band_legend() -> str:
    """Each band's tint with its range, under the tokens: the colours read without the notebook's text."""
    edges = [f"{edge:.0%}" for edge in BANDS]
    ranges = [f"under {edges[0]}", *(f"{low}–{high}" for low, high in pairwise(edges)), f"{edges[-1]} or more"]
    keys = "".join(f'<span class="av-key av-p{number}">{text}</span>' for number, text in enumerate(ranges, start=1))
    return f'<div class="av-token-key"><span>probability:</span>{keys}</div>'


def _spans_and_rows(tokens: Sequence[TokenLogprob]) -> tuple[str, str]:
    """The tinted tokens (each with its hover) and the table's rows, in one pass."""
    shown, quoted = _Memo(visible_html), _Memo(_quoted)
    spans: list[str] = []
    rows: list[str] = []
    for position, token in enumerate(tokens):
        chance = token.probability
        tint = f"av-tok av-p{band(chance)}"
        name, percent = quoted[token.token], _percent_html(chance)
        choices = [(quoted[c.token], _percent_html(c.probability)) for c in token.alternatives]
        hover = f"{name} {percent}"
        if choices:
            hover += " · " + ", ".join(f"{q} {p}" for q, p in choices)
        spans.append(f'<span class="{tint}" title="{hover}">{shown[token.token]}</span>')
        listed = ", ".join(f"<code>{q}</code> {p}" for q, p in choices) or "—"
        rows.append(
            f'<tr><td class="av-number">{position}</td><td class="av-text"><code>{name}</code></td>'
            f'<td class="av-number"><span class="{tint}">{percent}</span></td><td class="av-text">{listed}</td></tr>'
        )
    return "".join(spans), "".join(rows)


class _Memo(dict[str, str]):
    """Each distinct token rendered once: a reply repeats a small vocabulary, above all in its
    alternatives (1,000 tokens with 20 alternatives each have a few hundred distinct texts)."""

    def __init__(self, render: Callable[[str], str]) -> None:
        super().__init__()
        self._render = render

    def __missing__(self, text: str) -> str:
        self[text] = rendered = self._render(text)
        return rendered


def _quoted(text: str) -> str:
    """A token quoted as JSON (so a space or a newline shows), escaped for element text and attributes."""
    return html.escape(visible_json(text), quote=True)


def _percent_html(chance: float) -> str:
    return html.escape(_percent(chance))


def _percent(chance: float) -> str:
    """A probability as people read it (escape it for HTML: it may start with `<`).

    >>> _percent(0.8312), _percent(0.00004)
    ('83.1%', '<0.1%')
    """
    return f"{chance * 100:.1f}%" if chance >= 0.0005 else "<0.1%"
