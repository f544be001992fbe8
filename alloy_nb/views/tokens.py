"""A reply as its tokens, each tinted by its probability, with the likeliest alternatives readable
without a mouse: a `title` on each token for a hover, and a table under the reply (in a `<details>`,
reachable by keyboard) listing every token's probability and alternatives. Inert HTML: every token is
escaped, control and invisible characters shown as stand-ins (`visible`)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..trace.events import TokenLogprob
from ..visible import visible_html, visible_json
from .style import page

BANDS = (0.25, 0.5, 0.75)  # av-p1 below 25%, av-p2 below 50%, av-p3 below 75%, av-p4 from 75%


def tokens_html(tokens: Sequence[TokenLogprob]) -> str:
    """The tokens as tinted text, then the table of their probabilities and alternatives."""
    if not tokens:
        return page('<div class="av-note">No token probabilities: the call did not ask for logprobs.</div>')
    text = "".join(_token_span(token) for token in tokens)
    rows = "".join(_row(position, token) for position, token in enumerate(tokens))
    table = (
        '<table class="av-table"><thead><tr><th>#</th><th>token</th><th>probability</th>'
        f"<th>alternatives</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return page(
        f'<div class="av-tokens">{text}</div>'
        f"<details><summary>{len(tokens)} tokens: probabilities and alternatives</summary>"
        f'<div class="av-scroll">{table}</div></details>',
        "tokens",
        "table",
    )


def band(chance: float) -> int:
    """The tint band, 1 (unlikely) to 4 (likely), of a probability.

    >>> band(0.1), band(0.3), band(0.6), band(0.99)
    (1, 2, 3, 4)
    """
    return 1 + sum(chance >= edge for edge in BANDS)


def _token_span(token: TokenLogprob) -> str:
    """The token, tinted, with its probability and alternatives in its hover (tokens quoted as JSON, so a
    space or a newline shows)."""
    chance = token.probability
    hover = f"{visible_json(token.token)} {_percent(chance)}"
    if token.alternatives:
        hover += " · " + ", ".join(f"{visible_json(c.token)} {_percent(c.probability)}" for c in token.alternatives)
    return (
        f'<span class="av-tok av-p{band(chance)}" title="{html.escape(hover, quote=True)}">'
        f"{visible_html(token.token)}</span>"
    )


def _row(position: int, token: TokenLogprob) -> str:
    alternatives = ", ".join(
        f"<code>{html.escape(visible_json(c.token))}</code> {html.escape(_percent(c.probability))}"
        for c in token.alternatives
    )
    chance = token.probability
    return (
        f'<tr><td class="av-number">{position}</td><td class="av-text"><code>{html.escape(visible_json(token.token))}'
        f'</code></td><td class="av-number"><span class="av-tok av-p{band(chance)}">{html.escape(_percent(chance))}</span></td>'
        f'<td class="av-text">{alternatives or "—"}</td></tr>'
    )


def _percent(chance: float) -> str:
    """A probability as people read it (escape it for HTML: it may start with `<`).

    >>> _percent(0.8312), _percent(0.00004)
    ('83.1%', '<0.1%')
    """
    return f"{chance * 100:.1f}%" if chance >= 0.0005 else "<0.1%"
