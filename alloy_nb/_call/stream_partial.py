"""`stream.partial`: the value a streamed reply describes so far, its JSON still growing.

Parsed only when asked, and at most once per piece received (a turn's count of pieces is the
cache key), so a stream costs what its reader asks for: a view showing the value a few times a
second parses a few times a second. Parsing the whole text again on every piece would make a
stream quadratic in its length.
"""

from __future__ import annotations

from typing import Any

from .._outputs import OutputSpec
from .stream_turn import TurnGatherer


class PartialValue:
    """The latest value of one call's streamed turns: each turn starts from None, and a text that
    describes no value (yet) keeps the last one it did, so the value never goes back."""

    def __init__(self, output: OutputSpec) -> None:
        self._output = output
        self._gatherer: TurnGatherer | None = None
        self._pieces = 0
        self._value: Any = None

    def of(self, gatherer: TurnGatherer) -> Any:
        """The value `gatherer`'s text describes so far (the latest that validated)."""
        if gatherer is not self._gatherer:
            self._gatherer, self._pieces, self._value = gatherer, 0, None
        if len(gatherer.pieces) != self._pieces:
            self._pieces = len(gatherer.pieces)
            parsed = self._output.parse_partial(gatherer.text)
            if parsed is not None:
                self._value = parsed
        return self._value
