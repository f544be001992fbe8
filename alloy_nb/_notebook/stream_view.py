"""Streamed text shown inline as it arrives: one display handle, re-rendered at a bounded rate.
A typed cell shows its value filling in instead, as escaped JSON: the value so far is read once
per render, so it is parsed at that bounded rate too, never once per piece.

Pieces are appended in O(1); a render joins them once and sends one display update, at most
`max_updates_per_second` (14) times a second whatever the token rate: the first piece shows at
once, and even a sub-second burst stays within 15 updates per second. A Markdown (or typed) render
also waits at least four times as long as the last one took, so rendering a long reply never takes
more than a fifth of the kernel's time. The final render shows the reply in its chosen format with
the footer every `%%alloy` cell ends with (`call_status.call_footer`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .._trace import Trace
from .._trace.events import AnyEvent, RequestEvent
from .._views.reply import code_html, markdown_html, markdown_page, thinking_html
from .._views.status import status_line_html
from .._visible import visible
from .call_status import call_footer, event_line, with_footer

Clock = Callable[[], float]
PartialJson = Callable[[], str | None]  # a typed value so far as JSON, None while there is none


class StreamView:
    """Shows a growing reply in one output area; `updates` counts the display updates sent."""

    def __init__(
        self,
        *,
        as_markdown: bool = True,
        status: str = "…",
        max_updates_per_second: float = 14.0,
        clock: Clock = time.monotonic,
        partial_json: PartialJson | None = None,
    ) -> None:
        from IPython.display import display

        self._as_markdown = as_markdown
        self._interval = 1.0 / max_updates_per_second
        self._wait = self._interval
        self._clock = clock
        self._partial_json = partial_json  # a typed cell's: its value so far, shown instead of its JSON text
        self._pieces: list[str] = []
        self._thoughts: list[str] = []
        self._thoughts_shown: tuple[int, bool, str] = (0, False, "")  # (pieces, folded, html): drawn when changed
        self._statuses: list[tuple[int, str]] = []  # (answer pieces before it, line): a tool loop's steps
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

    def add_status(self, line: str) -> None:
        """A line on what the call does between turns (a tool running, its result), shown after the
        text so far, escaped, and at once (a tool loop has few such lines); never part of `text`."""
        self._statuses.append((len(self._pieces), line))
        self._maybe_render(now=True)

    def observe(self, trace: Trace, event: AnyEvent) -> None:
        """A trace observer (`alloy_nb._trace.observing`): a status line when a typed reply did not
        validate and the finalize turn starts."""
        if isinstance(event, RequestEvent) and event.finalize:
            self.add_status(str(event_line(event, trace.model)))

    def finish(self, bundle: dict[str, Any], trace: Trace | None) -> None:
        """The final render: the thinking (folded), `bundle` (the reply in its format), the footer."""
        if self._thoughts and "text/html" in bundle:
            bundle = {**bundle, "text/html": self._thinking_html(folded=True) + bundle["text/html"]}
        self._render(with_footer(bundle, call_footer(trace)) if trace is not None else bundle)

    def _maybe_render(self, *, now: bool = False) -> None:
        clock = self._clock()
        if not now and clock - self._last_render < self._wait:
            return
        self._last_render = clock
        started = time.perf_counter()
        self._render(self._progress())
        if self._as_markdown or self._partial_json is not None:
            self._wait = max(self._interval, 4 * (time.perf_counter() - started))

    def _progress(self) -> dict[str, Any]:
        """What a render while the reply streams shows: the thinking, the answer so far, the tool steps."""
        text = self.text
        grown = self._partial_json() if self._partial_json is not None else None

        def latest(stretch: str) -> str:  # the text since the last status line, or a typed cell's value so far
            return stretch if grown is None else grown

        plain = visible(self._with_statuses(text, str, _plain_status, latest)) or "(thinking…)"
        if not self._as_markdown:
            return {"text/plain": plain}
        thinking = self._thinking_html(folded=bool(text)) if self._thoughts else ""
        if self._partial_json is None:  # a text reply: its Markdown, code blocks coloured as in the final render
            answer = markdown_page(self._with_statuses(text, markdown_html, _html_status, markdown_html))
        else:
            answer = self._with_statuses(text, markdown_html, _html_status, lambda stretch: code_html(latest(stretch)))
        return {"text/html": thinking + answer, "text/plain": plain}

    def _with_statuses(
        self, text: str, show: Callable[[str], str], status: Callable[[str], str], last: Callable[[str], str]
    ) -> str:
        """The answer so far (`text`): each stretch between status lines shown by `show`, the latest by
        `last` (a typed cell's value so far), each line by `status`."""
        if not self._statuses:
            return last(text)
        shown, start = [], 0
        for end, line in self._statuses:
            shown += [show("".join(self._pieces[start:end])), status(line)]
            start = end
        return "".join([*shown, last("".join(self._pieces[start:]))])

    def _thinking_html(self, *, folded: bool) -> str:
        if self._thoughts_shown[:2] != (len(self._thoughts), folded):
            self._thoughts_shown = (len(self._thoughts), folded, thinking_html("".join(self._thoughts), folded=folded))
        return self._thoughts_shown[2]

    def _render(self, bundle: dict[str, Any]) -> None:
        self.updates += 1
        self._handle.update(bundle, raw=True)


def _plain_status(line: str) -> str:
    return f"\n[{line}]\n"


def _html_status(line: str) -> str:
    return f"<div>{status_line_html(line)}</div>"
