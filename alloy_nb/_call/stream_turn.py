"""One streamed reply gathered as it arrives: its text and thinking pieces, its tool calls (whole
from Ollama's native API, in fragments from OpenAI's), its counts and timings; at its end, the
neutral `Turn` and the trace's response event.

Each chunk costs O(1) whatever came before it: pieces and argument fragments are appended, and
joined once, when the turn ends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from .._messages import ToolCall
from .._strategies import StreamChunk, ToolCallPiece, Turn
from .._strategies.inline_thinking import InlineThinkingStream
from .._trace import ResponseEvent
from .._trace.events import TokenLogprob
from .drivers import response_event

Piece = tuple[Literal["thinking", "text"], str]


class TurnGatherer:
    """Takes one turn's chunks in order; `turn()` is the reply gathered so far."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.pieces: list[str] = []
        self.thoughts: list[str] = []  # the model's reasoning, never part of the text
        self.calls = ToolCallAssembler()
        self.tokens: list[TokenLogprob] = []  # each token's log probability, when the chunks carry them
        self.received = False
        self.done_reason: str | None = None  # set once the server has said why the reply stopped
        self.last: StreamChunk | None = None  # the done chunk, with the counts
        self.ttft: float | None = None
        self.first_thought: float | None = None  # perf_counter() of the first thinking piece
        self.inline = InlineThinkingStream()  # `<think>…</think>` written into the content
        self.started = time.perf_counter()

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def thinking(self) -> str:
        return "".join(self.thoughts)

    @property
    def complete(self) -> bool:
        """The server said the reply is over (a done chunk, or OpenAI's finish reason)."""
        return self.last is not None or self.done_reason is not None

    def take(self, chunk: StreamChunk) -> list[Piece]:
        """Take a chunk; the pieces it adds, thinking first (a chunk rarely carries both)."""
        return self._taken(self.inline.chunk(chunk))

    def rest(self) -> list[Piece]:
        """What the inline-thinking splitter still holds when a stream ends without a done chunk."""
        last = self.inline.flush()
        return self._taken(last) if last is not None else []

    def _taken(self, chunk: StreamChunk) -> list[Piece]:
        self.received = True
        found: list[Piece] = []
        if chunk.thinking:
            if self.first_thought is None:
                self.first_thought = time.perf_counter()
            self.thoughts.append(chunk.thinking)
            found.append(("thinking", chunk.thinking))
        if chunk.text:
            if self.ttft is None:
                self.ttft = round(time.perf_counter() - self.started, 6)
            self.pieces.append(chunk.text)
            found.append(("text", chunk.text))
        for piece in chunk.tool_calls:
            self.calls.add(piece)
        self.tokens.extend(chunk.tokens)  # O(tokens in this chunk)
        if chunk.done_reason is not None:
            self.done_reason = chunk.done_reason
        if chunk.done:
            self.last = chunk
        return found

    def turn(self) -> Turn:
        last = self.last or StreamChunk()
        return Turn(
            text=self.text,
            tool_calls=self.calls.calls(),
            thinking=self.thinking or None,
            prompt_tokens=last.prompt_tokens,
            completion_tokens=last.completion_tokens,
            done_reason=last.done_reason or self.done_reason,
            generation_s=last.generation_s,
            tokens=self.tokens or None,
        )

    def event(self, turn: Turn, at_s: float) -> ResponseEvent:
        """The turn as the trace keeps it, with its chunk timings (`at_s`: when it ended)."""
        event = response_event(turn, self.number, time.perf_counter() - self.started, self.ttft, at_s=at_s)
        if self.first_thought is not None:  # thinking lasts until the answer starts (or the turn ends)
            answer_started = self.started + self.ttft if self.ttft is not None else time.perf_counter()
            event.thinking_s = round(answer_started - self.first_thought, 6)
            event.thinking_pieces = len(self.thoughts)
        return event


@dataclass
class _Call:
    id: str | None
    name: str
    fragments: list[str] = field(default_factory=list)
    whole: dict[str, Any] | None = None


class ToolCallAssembler:
    """Tool calls from their streamed pieces, in the order they began.

    A piece without an index is a whole call. A piece under an index already seen continues that
    call, unless it brings another id: Ollama's /v1 has sent every call of a turn under index 0,
    told apart by their ids. A call's name is its first piece's (OpenAI sends it once).

    >>> calls = ToolCallAssembler()
    >>> for piece in [ToolCallPiece(0, "c1", "add", ""), ToolCallPiece(0, None, "", '{"a":'),
    ...               ToolCallPiece(0, None, "", "2}"), ToolCallPiece(0, "c2", "neg", '{"a":1}')]:
    ...     calls.add(piece)
    >>> [(call.id, call.name, call.arguments) for call in calls.calls()]
    [('c1', 'add', '{"a":2}'), ('c2', 'neg', '{"a":1}')]
    """

    def __init__(self) -> None:
        self._calls: list[_Call] = []
        self._by_index: dict[int, _Call] = {}

    def __bool__(self) -> bool:
        return bool(self._calls)

    def add(self, piece: ToolCallPiece) -> None:
        call = self._by_index.get(piece.index) if piece.index is not None else None
        if call is None or (piece.id and call.id and piece.id != call.id):
            call = _Call(piece.id, piece.name)
            self._calls.append(call)
            if piece.index is not None:
                self._by_index[piece.index] = call
        else:
            call.id = call.id or piece.id
            call.name = call.name or piece.name
        if isinstance(piece.arguments, dict):
            call.whole = piece.arguments
        elif piece.arguments:
            call.fragments.append(piece.arguments)

    def names(self) -> str:
        return ", ".join(call.name or "(unnamed)" for call in self._calls)

    def calls(self) -> list[ToolCall]:
        """The calls as the non-streamed reply would give them: a call without an id gets `call_<n>`."""
        return [
            ToolCall(
                id=call.id or f"call_{number}",
                name=call.name,
                arguments=call.whole if call.whole is not None else "".join(call.fragments),
            )
            for number, call in enumerate(self._calls)
        ]
