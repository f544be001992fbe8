"""Streamed text shown inline as it arrives: one display handle, re-rendered at a bounded rate.

Pieces are appended in O(1); a render joins them once and sends one display update, at most
`max_updates_per_second` (14) times a second whatever the token rate: the first piece shows at
once, and even a sub-second burst stays within 15 updates per second. A Markdown render also
waits at least four times as long as the last one took, so rendering a long reply never takes more
than a fifth of the kernel's time. The final render shows the reply in its chosen format with the
footer every `%%alloy` cell ends with (`call_status.call_footer`).
"""

from __future__ import annotations

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
        self._last_render = -self._interval  # the first piece shows at once
        self.updates = 0
        self._handle = display({"text/plain": status}, raw=True, display_id=True)

    @property
    def text(self) -> str:
        return "".join(self._pieces)

    def add(self, piece: str) -> None:
        """Take one streamed piece; render only if the last render is old enough."""
        self._pieces.append(piece)
        now = self._clock()
        if now - self._last_render >= self._wait:
            self._last_render = now
            text = self.text
            if self._as_markdown:
                started = time.perf_counter()
                self._render({"text/html": markdown_html(text), "text/plain": text})
                self._wait = max(self._interval, 4 * (time.perf_counter() - started))
            else:
                self._render({"text/plain": text})

    def finish(self, bundle: dict[str, Any], trace: Trace | None) -> None:
        """The final render: `bundle` (the reply in its format) followed by the footer."""
        self._render(with_footer(bundle, call_footer(trace)) if trace is not None else bundle)

    def _render(self, bundle: dict[str, Any]) -> None:
        self.updates += 1
        self._handle.update(bundle, raw=True)
