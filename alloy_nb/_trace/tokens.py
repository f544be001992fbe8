"""A reply's tokens with their probabilities, as a small table: `Trace.tokens()` returns one.

Ollama reports log probabilities (`logprobs=True`, `top_logprobs=N`); the table adds the
probability (`exp(logprob)`) that people read, and `to_pandas()` where pandas is installed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .events import TokenLogprob


class TokenTable(Sequence[TokenLogprob]):
    """The tokens of one reply in order, each with its log probability and alternatives."""

    def __init__(self, tokens: Sequence[TokenLogprob]) -> None:
        self._tokens = list(tokens)

    def __getitem__(self, index: Any) -> Any:
        return self._tokens[index]

    def __len__(self) -> int:
        return len(self._tokens)

    def __iter__(self) -> Iterator[TokenLogprob]:
        return iter(self._tokens)

    @property
    def text(self) -> str:
        """The tokens joined: the reply they spell."""
        return "".join(token.token for token in self._tokens)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per token: position, token, logprob, probability and its alternatives as (token, probability).

        >>> from alloy_nb._trace.events import TokenChoice
        >>> TokenTable([TokenLogprob(token="Hi", logprob=0.0, alternatives=[TokenChoice(token="Hi", logprob=0.0)])]).rows()
        [{'position': 0, 'token': 'Hi', 'logprob': 0.0, 'probability': 1.0, 'alternatives': [('Hi', 1.0)]}]
        """
        return [
            {
                "position": position,
                "token": token.token,
                "logprob": token.logprob,
                "probability": token.probability,
                "alternatives": [(choice.token, choice.probability) for choice in token.alternatives],
            }
            for position, token in enumerate(self._tokens)
        ]

    def to_pandas(self) -> Any:
        """The rows as a `pandas.DataFrame` (pandas must be installed)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("TokenTable.to_pandas() needs pandas: pip install pandas") from None
        return pandas.DataFrame(self.rows(), columns=["position", "token", "logprob", "probability", "alternatives"])

    def _repr_html_(self) -> str:
        from .._views.tokens import tokens_html

        return tokens_html(self._tokens)

    def __repr__(self) -> str:
        return f"TokenTable({len(self)} tokens: {self.text[:60]!r})"
