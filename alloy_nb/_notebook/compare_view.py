"""`%alloy compare` while it runs: one column per strategy, each reply streaming into its own side.

Pieces are appended in O(1); the view is redrawn at most `max_updates_per_second` times a second,
every string escaped. When both sides are done the view shrinks to one line per side and the
comparison of the two traces follows as the cell's result.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from .._trace import Trace
from .._views.compare import compare_live_html


class CompareProgress:
    """Live columns for the sides of a comparison (e.g. native and openai_chat)."""

    def __init__(self, sides: Sequence[str], *, max_updates_per_second: float = 14.0) -> None:
        from IPython.display import display

        self._sides = list(sides)
        self._pieces: dict[str, list[str]] = {side: [] for side in sides}
        self._state = {side: "waiting" for side in sides}
        self._interval = 1.0 / max_updates_per_second
        self._last = -self._interval
        self._handle = display(self._bundle(), raw=True, display_id=True)

    def start(self, side: str) -> None:
        self._state[side] = "streaming…"
        self._render()

    def add(self, side: str, piece: str) -> None:
        self._pieces[side].append(piece)
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._render()

    def done(self, side: str, trace: Trace | None, error: BaseException | None = None) -> None:
        if error is not None:
            self._state[side] = f"failed: {type(error).__name__}"
        else:
            seconds = f" in {trace.duration_s:.2f} s" if trace is not None and trace.duration_s is not None else ""
            self._state[side] = f"done{seconds}"
        self._render()

    def finish(self) -> None:
        """One line per side: the comparison itself is the cell's result."""
        line = " · ".join(f"{side}: {self._state[side]}" for side in self._sides)
        self._handle.update({"text/plain": line}, raw=True)

    def _render(self) -> None:
        self._handle.update(self._bundle(), raw=True)

    def _bundle(self) -> dict[str, str]:
        sides = [(side, self._state[side], "".join(self._pieces[side])) for side in self._sides]
        plain = "  ".join(f"{side}: {self._state[side]}" for side in self._sides)
        return {"text/html": compare_live_html(sides), "text/plain": plain}
