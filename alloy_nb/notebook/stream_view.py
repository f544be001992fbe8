"""Streamed text shown inline as it arrives: one display handle, re-rendered at a bounded rate.

Pieces are appended in O(1); a render joins them once and sends one display update, at most
`max_updates_per_second` (14) times a second whatever the token rate: the first piece shows at
once, and even a sub-second burst stays within 15 updates per second. A Markdown render also
waits at least four times as long as the last one took, so rendering a long reply never takes more
than a fifth of the kernel's time. The final render shows the reply in its chosen format with a
footer (model, strategy, tokens, tokens/s, time to first token).
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any

from ..trace import Trace
from .safe_text import markdown_html

Clock = Callable[[], float]


class StreamView:
    """Shows a growing reply in one output area; `updates` counts the display updates sent."""

    def __init__(
        self, *, as_markdown: bool = True, max_updates_per_second: float = 14.0, clock: Clock = time.monotonic
    ) -> None:
        from IPython.display import display

        self._as_markdown = as_markdown
        self._interval = 1.0 / max_updates_per_second
        self._wait = self._interval
        self._clock = clock
        self._pieces: list[str] = []
        self._last_render = -self._interval  # the first piece shows at once
        self.updates = 0
        self._handle = display({"text/plain": "…"}, raw=True, display_id=True)

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
        footer = stream_footer(trace) if trace is not None else ""
        final = dict(bundle)
        if footer:
            final = {key: _with_footer(key, value, footer) for key, value in final.items()}
        self._render(final)

    def _render(self, bundle: dict[str, Any]) -> None:
        self.updates += 1
        self._handle.update(bundle, raw=True)


def _with_footer(mime: str, value: Any, footer: str) -> Any:
    if mime == "text/html":
        return f'{value}<div class="alloy-footer"><sub>{html.escape(footer)}</sub></div>'
    if mime == "text/plain":
        return f"{value}\n\n— {footer}"
    return value


def stream_footer(trace: Trace) -> str:
    """`smollm2:135m · native · 42 tokens · 88.1 tok/s · first token 21 ms`, plus the outcome if not ok."""
    response = trace.responses[-1] if trace.responses else None
    parts = [trace.model.removeprefix("ollama:"), trace.strategy]
    if response is not None:
        tokens = response.usage.completion_tokens
        if tokens:
            parts.append(f"{tokens} tokens")
            decode_time = response.duration_s - (response.ttft_s or 0.0)
            if decode_time > 0 and tokens > 1:
                parts.append(f"{(tokens - 1) / decode_time:.1f} tok/s")
        if response.ttft_s is not None:
            parts.append(f"first token {response.ttft_s * 1000:.0f} ms")
    if trace.status != "ok":
        parts.append(trace.status)
    return " · ".join(parts)
