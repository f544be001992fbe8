"""Traces: the plain-data record of each call (`model`) and its HTML views (`html`)."""

from .model import (
    ErrorInfo,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    ToolEvent,
    Trace,
    Usage,
    last_trace,
    observing,
    recent_traces,
    remember,
)

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
