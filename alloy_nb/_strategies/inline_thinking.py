"""Thinking that a model writes inline as `<think>…</think>` at the start of its content.

Older Ollama servers, and thinking models called with `think` unset, return the reasoning inside
the content. It is split off the same way Ollama's own `thinking` field would be: the answer is
what follows `</think>` (leading whitespace dropped). Only a reply that *starts* with `<think>`
is split, so an answer that merely mentions the tag is left alone.

`InlineThinking` does it for a stream in O(1) per piece: it holds back at most the few
characters that could be the start of a tag.
"""

from __future__ import annotations

from dataclasses import replace

from .base import StreamChunk, Turn

OPEN = "<think>"
CLOSE = "</think>"


class InlineThinking:
    """Feed content pieces in order; each call returns `(thinking, text)` it can release now."""

    def __init__(self) -> None:
        self._state = "start"  # start → thinking → answer_start → text
        self._blanks: list[str] = []  # the pieces of only whitespace the content began with
        self._held = ""  # content not yet released: a possible tag prefix (and the whitespace before it)

    def feed(self, piece: str) -> tuple[str, str]:
        if self._state == "text":
            return "", piece
        if self._state == "start" and not self._held and not piece.strip():
            self._blanks.append(piece)  # kept apart: never scanned again, however many come
            return "", ""
        held = self._held + piece
        self._held = ""
        if self._state == "start":
            begun = held.lstrip()
            if OPEN.startswith(begun):  # a prefix of the tag, so far
                self._held = held
                return "", ""
            lead, self._blanks = "".join(self._blanks), []
            if not begun.startswith(OPEN):
                self._state = "text"
                return "", lead + held
            self._state = "thinking"
            held = begun[len(OPEN) :]
        if self._state == "thinking":
            end = held.find(CLOSE)
            if end < 0:
                keep = _tag_prefix_length(held)
                self._held = held[len(held) - keep :]
                return held[: len(held) - keep], ""
            self._state = "answer_start"
            thinking, held = held[:end], held[end + len(CLOSE) :]
            return thinking, self._answer_start(held)
        return "", self._answer_start(held)

    @property
    def settled(self) -> bool:
        """The answer has begun: the rest of the content is text, passed on as it comes."""
        return self._state == "text"

    def flush(self) -> tuple[str, str]:
        """What is still held when the content ends."""
        held, self._held = self._held, ""
        if self._state == "thinking":
            return held, ""
        lead, self._blanks = "".join(self._blanks), []
        return "", lead + held if self._state == "start" else ""

    def _answer_start(self, held: str) -> str:
        answer = held.lstrip()
        if answer:
            self._state = "text"
        return answer


def _tag_prefix_length(text: str) -> int:
    """How many of `text`'s last characters could begin `</think>`."""
    for length in range(min(len(CLOSE) - 1, len(text)), 0, -1):
        if CLOSE.startswith(text[-length:]):
            return length
    return 0


def split_turn(turn: Turn) -> Turn:
    """The turn with inline `<think>…</think>` moved to `thinking` (when it has none of its own)."""
    if turn.thinking or not turn.text.lstrip().startswith(OPEN):
        return turn
    splitter = InlineThinking()
    thinking, text = splitter.feed(turn.text)
    rest_thinking, rest_text = splitter.flush()
    turn.thinking = (thinking + rest_thinking) or None
    turn.text = text + rest_text
    return turn


class InlineThinkingStream:
    """Applies `InlineThinking` to a stream's chunks until the answer has begun or the server sends
    thinking of its own."""

    def __init__(self) -> None:
        self._splitter: InlineThinking | None = InlineThinking()

    def chunk(self, chunk: StreamChunk) -> StreamChunk:
        splitter = self._splitter
        if splitter is None:
            return chunk
        if chunk.thinking:  # the server splits thinking itself: pass everything through, what was held first
            self._splitter = None
            held_thinking, held_text = splitter.flush()
            if held_thinking or held_text:
                return replace(chunk, thinking=held_thinking + chunk.thinking, text=held_text + chunk.text)
            return chunk
        thinking, text = splitter.feed(chunk.text) if chunk.text else ("", "")
        if chunk.done:
            rest_thinking, rest_text = splitter.flush()
            thinking, text = thinking + rest_thinking, text + rest_text
        if splitter.settled:  # from here on chunks pass through untouched (no per-chunk copy)
            self._splitter = None
        return chunk if (thinking, text) == ("", chunk.text) else replace(chunk, thinking=thinking, text=text)

    def flush(self) -> StreamChunk | None:
        """A last chunk for content still held when a stream ends without a done chunk."""
        if self._splitter is None:
            return None
        thinking, text = self._splitter.flush()
        return StreamChunk(text=text, thinking=thinking) if thinking or text else None
