"""One streamed reply in the chat panel: its thinking, its text and its tool steps, each drawn as it comes.

The reply is a box of HTML widgets. A stretch of text (or of thinking) streams into a widget of its
own, and a long stretch into several: once the widget being drawn holds `CHUNK_CHARS` characters and a
piece brings a line break (outside a code fence), that widget is left as it is and the next piece
starts a new one. So a render parses and sends at most a chunk, however long the reply: the text's
Markdown (rendered inert, `views.reply`), the thinking's pieces each escaped once, when they come
(`views.chat.escaped`). Renders are throttled as `%%alloy`'s stream view throttles them: the first
piece shows at once, then at most `max_updates_per_second` (14) a second; a tool call or result, a
footer or an error shows at once.

A stretch ends when something else starts (the answer after the thinking, a tool call after the
text) or the reply ends: then its chunks become one widget, drawn once (the Markdown whole, a fence
split between chunks mended), and the thinking is folded in a `<details>`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .._views.chat import (
    chat_error_html,
    escaped,
    footer_html,
    live_thinking_html,
    note_html,
    reply_html,
    thinking_html,
    tool_call_html,
    tool_result_html,
)

if TYPE_CHECKING:
    import ipywidgets

CHUNK_CHARS = 2_000  # a streamed widget this long starts a new one at the next line break
Clock = Callable[[], float]


class Throttle:
    """Says whether a render is due: the first at once, then no two within `1 / per_second` seconds."""

    def __init__(self, per_second: float, clock: Clock = time.monotonic) -> None:
        self._interval = 1.0 / per_second
        self._clock = clock
        self._last = -float("inf")

    def due(self) -> bool:
        now = self._clock()
        if now - self._last < self._interval:
            return False
        self._last = now
        return True


@dataclass
class _Stretch:
    """Text or thinking streamed without a break: its pieces as they came and escaped, and its widgets."""

    kind: Literal["text", "thinking"]
    badge: str | None  # the model's name, when the stretch opens the reply
    raw: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)  # the thinking's pieces, escaped (none for text)
    start: int = 0  # the first piece of the chunk being drawn (in `raw`, and in `shown` for thinking)
    size: int = 0  # characters in that chunk
    fences: int = 0  # code fences (```) in the stretch so far: odd while a code block is open
    drawn: list[ipywidgets.HTML] = field(default_factory=list)  # every chunk's widget; the last is being drawn
    open: bool = False  # the last widget is the chunk being drawn (False: the next draw starts one)


class LiveReply:
    """A reply as it streams; `box` is its widget, `updates` counts the widget values it has set."""

    def __init__(self, badge: str, *, max_updates_per_second: float = 14.0, clock: Clock = time.monotonic) -> None:
        import ipywidgets as widgets

        self._widgets = widgets
        self.box: ipywidgets.VBox = widgets.VBox(layout=widgets.Layout(width="auto"))
        self._badge: str | None = badge
        self._throttle = Throttle(max_updates_per_second, clock)
        self._stretch: _Stretch | None = None
        self.updates = 0

    def take(self, kind: str, item: Any) -> None:
        """One event of `stream.events()`: a piece of text or thinking, a tool call or a tool result."""
        if kind == "tool_call":
            self._close()
            self._add(tool_call_html(item.name, item.arguments, badge=self._take_badge()))
        elif kind == "tool_result":
            self._close()
            self._add(tool_result_html(item.name, item.text))
        else:
            self._stream("thinking" if kind == "thinking" else "text", str(item))

    def finish(self, footer: str) -> None:
        """The reply has ended: its last stretch drawn for good, then the footer."""
        self._close()
        self._add(footer_html(footer))

    def fail(self, kind: str, message: str) -> None:
        """The call failed: what arrived stays, then the error."""
        self._close()
        self._add(chat_error_html(kind, message))

    def note(self, text: str) -> None:
        """A line after what arrived (the reply was stopped)."""
        self._close()
        self._add(note_html(text))

    def _stream(self, kind: Literal["text", "thinking"], piece: str) -> None:
        stretch = self._stretch
        if stretch is None or stretch.kind != kind:
            self._close()
            stretch = self._stretch = _Stretch(kind, self._take_badge())
        stretch.raw.append(piece)
        if kind == "thinking":
            stretch.shown.append(escaped(piece))
        before = stretch.raw[-2][-2:] if len(stretch.raw) > 1 else ""  # a fence split between two pieces counts
        stretch.fences += (before + piece).count("```")
        stretch.size += len(piece)
        if stretch.size >= CHUNK_CHARS and "\n" in piece and stretch.fences % 2 == 0:
            self._draw(stretch)  # this chunk as it ends; the next piece starts another
            stretch.start, stretch.size, stretch.open = len(stretch.raw), 0, False
        elif self._throttle.due():
            self._draw(stretch)

    def _draw(self, stretch: _Stretch) -> None:
        badge = stretch.badge if not stretch.drawn else None
        if stretch.kind == "text":
            value = reply_html("".join(stretch.raw[stretch.start :]), badge=badge)
        else:
            value = live_thinking_html("".join(stretch.shown[stretch.start :]), badge=badge)
        if not stretch.open:
            stretch.drawn.append(self._add(value))
            stretch.open = True
        else:
            self._set(stretch.drawn[-1], value)

    def _close(self) -> None:
        """The stretch being streamed, if any, as one widget: its Markdown, or its thinking folded."""
        stretch, self._stretch = self._stretch, None
        if stretch is None:
            return
        text = "".join(stretch.raw)
        if not stretch.drawn and not text.strip():
            return  # nothing shown, nothing to show (a line break before a tool call)
        value = (
            reply_html(text, badge=stretch.badge)
            if stretch.kind == "text"
            else thinking_html(text, badge=stretch.badge)
        )
        if not stretch.drawn:
            self._add(value)
            return
        first, rest = stretch.drawn[0], stretch.drawn[1:]
        self._set(first, value)
        if rest:
            self.box.children = tuple(child for child in self.box.children if all(child is not w for w in rest))
            for widget in rest:
                widget.close()

    def _take_badge(self) -> str | None:
        badge, self._badge = self._badge, None
        return badge

    def _add(self, value: str) -> ipywidgets.HTML:
        widget = self._widgets.HTML(value, layout=self._widgets.Layout(width="auto"))
        self.updates += 1
        self.box.children = (*self.box.children, widget)
        return widget

    def _set(self, widget: ipywidgets.HTML, value: str) -> None:
        self.updates += 1
        widget.value = value
