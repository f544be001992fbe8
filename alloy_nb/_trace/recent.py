"""The recent-calls history of this process: `last_trace()` and `recent_traces()`."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Trace


_history: deque[Trace] = deque(maxlen=100)


def remember(trace: Trace, keep: int = 100) -> None:
    """Add a trace to the recent-calls history, which holds the last `keep` traces."""
    global _history
    if _history.maxlen != keep:
        _history = deque(_history, maxlen=keep)
    _history.append(trace)


def keep_latest(trace: Trace) -> None:
    """A call that finishes becomes the latest, after any call it made itself (a tool calling ask)."""
    if not _history or _history[-1] is trace:
        return
    for index, kept in enumerate(_history):
        if kept is trace:
            del _history[index]
            _history.append(trace)
            return


def last_trace() -> Trace | None:
    """The trace of the call finished last in this process, or of the one running (None with `trace_history=0`)."""
    return _history[-1] if _history else None


def recent_traces() -> list[Trace]:
    """Recent traces, oldest first (at most `trace_history` of them, 100 by default)."""
    return list(_history)
