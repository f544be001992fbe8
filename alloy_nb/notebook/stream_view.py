"""Streamed text shown inline as it arrives: one display handle, re-rendered at a bounded rate.

Pieces are appended in O(1); a render joins them once and sends one display update, at most
`max_updates_per_second` (14) times a second whatever the token rate: the first piece shows at
once, and even a sub-second burst stays within 15 updates per second. A Markdown render also
waits at least four times as long as the last one took, so rendering a long reply never takes more
than a fifth of the kernel's time. The final render shows the reply in its chosen format with the
footer every `%%alloy` cell ends with (`call_status.call_footer`).
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any

from ..trace import Trace
from .call_status import call_footer, with_footer
from .safe_text import markdown_html

Clock = Callable[[], float]


class StreamView:
    """Shows a growing reply in one output area; `updates` counts the display updates sent."""

    def __init__(
        self,
        *,
        as_markdown: bool = True,
        status: str = "…",
        max_updates_per_second: float = 14.0,
        clock: Clock = time.monotonic,
    ) -> None:
        from IPython.display import display

        self._as_markdown = as_markdown
        self._interval = 1.0 / max_updates_per_second
        self._wait = self._interval
        self._clock = clock
        self._pieces: list[str] = []
        self._thoughts: list[str] = []
        self._thoughts_shown: tuple[int, str] = (0, "")  # (pieces joined, their escaped text): rejoined only when grown
        self._last_render = -self._interval  # the first piece shows at once
        self.updates = 0
        self._handle = display({"text/plain": status}, raw=True, display_id=True)

    @property
    def text(self) -> str:
        return "".join(self._pieces)

    def add(self, piece: str) -> None:
        """Take one streamed piece of the answer; render only if the last render is old enough."""
        self._pieces.append(piece)
        self._maybe_render()

    def add_thinking(self, piece: str) -> None:
        """Take one piece of the model's thinking: shown muted above the answer, folded once it starts."""
        self._thoughts.append(piece)
        self._maybe_render()

    def finish(self, bundle: dict[str, Any], trace: Trace | None) -> None:
        """The final render: the thinking (folded), `bundle` (the reply in its format), the footer."""
        if self._thoughts and "text/html" in bundle:
            bundle = {**bundle, "text/html": self._thinking_html(folded=True) + bundle["text/html"]}
        self._render(with_footer(bundle, call_footer(trace)) if trace is not None else bundle)

    def _maybe_render(self) -> None:
        now = self._clock()
        if now - self._last_render < self._wait:
            return
        self._last_render = now
        text = self.text
        plain = text or "(thinking…)"
        if self._as_markdown:
            started = time.perf_counter()
            thinking = self._thinking_html(folded=bool(text)) if self._thoughts else ""
            self._render({"text/html": thinking + markdown_html(text), "text/plain": plain})
            self._wait = max(self._interval, 4 * (time.perf_counter() - started))
        else:
            self._render({"text/plain": plain})

    def _thinking_html(self, *, folded: bool) -> str:
        if self._thoughts_shown[0] != len(self._thoughts):
            self._thoughts_shown = (len(self._thoughts), html.escape("".join(self._thoughts)))
        shown = self._thoughts_shown[1]
        state = "" if folded else " open"
        return (
            f'<details class="alloy-thinking"{state}><summary style="opacity:.7">Thinking</summary>'
            f'<div style="white-space:pre-wrap;opacity:.65;font-size:90%">{shown}</div></details>'
        )

    def _render(self, bundle: dict[str, Any]) -> None:
        self.updates += 1
        self._handle.update(bundle, raw=True)
