"""A reply described as data: what the demo model says, and what tests script (alloy_nb.testing)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ScriptedToolCall:
    """A scripted tool call; str arguments are sent as raw (possibly malformed) text.

    ``pieces`` stream the arguments text on /v1 as OpenAI does: a delta with the call's id and
    name, then one per piece (without them the whole call goes in one delta, as Ollama's /v1 sends
    it; Ollama's native API always sends it whole). Given alone, their concatenation is the arguments.
    """

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None
    pieces: list[str] | None = None

    def __post_init__(self) -> None:
        if self.pieces is None:
            return
        if self.arguments in ({}, ""):
            self.arguments = "".join(self.pieces)
        elif self.arguments != "".join(self.pieces):
            raise ValueError("ScriptedToolCall: arguments and pieces disagree; give only one of them")


@dataclass
class TurnScript:
    """One scripted reply (``thinking``, if any, streams first, a word at a time).

    ``chunks`` are the stream pieces (default: ``text`` split per word; given
    alone, their concatenation is the text). ``delay`` is waited before the
    first byte, ``chunk_delay`` between pieces. ``status`` answers with that
    HTTP error and ``error`` as message. Token counts default to rough counts
    of the texts.
    """

    text: str = ""
    tool_calls: list[ScriptedToolCall] = field(default_factory=list)
    thinking: str = ""
    chunks: list[str] | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    status: int | None = None
    error: str = "scripted error"
    done_reason: str = "stop"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.chunks is None:
            self.chunks = split_words(self.text)
        elif not self.text:
            self.text = "".join(self.chunks)
        elif self.text != "".join(self.chunks):
            raise ValueError("TurnScript: text and chunks disagree; give only one of them")


def split_words(text: str) -> list[str]:
    """Split text into stream pieces: each word with the whitespace around it."""
    return re.findall(r"\s*\S+\s*|\s+", text)
