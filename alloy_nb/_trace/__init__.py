"""Traces: the plain-data record of each call (`model`, `events`), its timeline and diffs as data; the HTML
views of them live in `alloy_nb._views`."""

from .events import ErrorInfo, RequestEvent, ResponseEvent, RetryEvent, ToolEvent, Usage
from .model import Trace, observing
from .recent import last_trace, recent_traces, remember

__all__ = [
    "ErrorInfo",
    "RequestEvent",
    "ResponseEvent",
    "RetryEvent",
    "ToolEvent",
    "Trace",
    "Usage",
    "last_trace",
    "observing",
    "recent_traces",
    "remember",
]
