"""OpenTelemetry spans for every call, in the GenAI semantic conventions.

    from alloy_nb import otel
    otel.instrument()                       # the global TracerProvider, no content
    otel.instrument(capture_content=True)   # prompts, replies, tool arguments and results too
    otel.uninstrument()

Every call (`ask`, commands, streams, `%%alloy`, `map` items, replays) becomes a `call {model}`
span with a `chat {model}` span per request and an `execute_tool {name}` span per tool run; a
`map` is a `map {model}` span around its items, on a Dask cluster too (its tasks carry the W3C
trace context; instrument the workers as well, e.g. with `client.run`). See `spans.py` for the
attributes. Content is recorded only with `capture_content=True` or
`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`; credentials never.

Needs `opentelemetry-api` (`pip install 'alloy_nb[otel]'`) plus an SDK and an exporter of your
choice; nothing of OpenTelemetry is imported until `instrument()`.
"""

from __future__ import annotations

import atexit
import os
from typing import TYPE_CHECKING, Any

from .. import _hooks as hooks

if TYPE_CHECKING:
    from .emitter import SpanHooks

__all__ = ["CAPTURE_ENV", "flush", "instrument", "uninstrument"]

CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
MISSING = (
    "alloy_nb.otel needs the OpenTelemetry API: pip install 'alloy_nb[otel]' (or opentelemetry-api), "
    "plus an SDK and an exporter to send the spans somewhere (opentelemetry-sdk, "
    "opentelemetry-exporter-otlp-proto-http)."
)

_active: SpanHooks | None = None


def instrument(*, tracer_provider: Any = None, capture_content: bool | None = None) -> None:
    """Emit spans for every call from now on, to `tracer_provider` (default: the global one, as it is
    when the spans are written). `capture_content` defaults to the environment (`CAPTURE_ENV`).
    Calling it again replaces the earlier instrumentation."""
    global _active
    try:
        from opentelemetry.trace import get_tracer

        from .emitter import SpanHooks
    except ImportError as exc:
        if not (exc.name or "").startswith("opentelemetry"):
            raise
        raise ImportError(MISSING) from None
    if capture_content is None:
        capture_content = os.environ.get(CAPTURE_ENV, "").strip().lower() in ("true", "1")
    uninstrument()
    tracer = get_tracer("alloy_nb", tracer_provider=tracer_provider)
    _active = SpanHooks(tracer, capture=capture_content, provider=tracer_provider)
    hooks.install(_active)
    atexit.unregister(uninstrument)  # once: the last calls' spans are written before the process ends
    atexit.register(uninstrument)


def uninstrument(timeout: float = 5.0) -> None:
    """Stop emitting spans; the calls already finished still get theirs (waiting at most `timeout` s)."""
    global _active
    if _active is None:
        return
    hooks.uninstall(_active)
    _active.close(timeout)
    _active = None


def flush(timeout: float = 5.0) -> bool:
    """Write the spans of every call finished so far and flush the tracer provider (when it can, as
    the SDK's does); False if that did not finish within `timeout` seconds."""
    return _active.flush(timeout) if _active is not None else True
