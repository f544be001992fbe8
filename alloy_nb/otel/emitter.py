"""The hooks `instrument()` installs (`alloy_nb._hooks`): finished calls become spans on a thread of
their own, `map` runs become a span around their items, and a Dask task carries its parent along.

Writing a call's spans costs about 35 µs a span with the SDK (attribute checks, ids, the
processor's queue), some 6% of the quickest call to a local server (1.1 ms) if done in the call,
and waking a thread for each call cost nearly as much again (measured: 80 µs a call). So the call's
thread only appends the finished trace and its context to a deque (a few µs, no lock, no wake-up),
and a daemon thread writes the spans of the calls finished since it last looked, twice a second or
at once on `flush()`. If the writer is stuck in an exporter, at most `MAX_PENDING` calls wait (the
oldest go without spans); an error writing them is dropped.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context, propagate
from opentelemetry.trace import (
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    TracerProvider,
    get_tracer_provider,
    set_span_in_context,
)

from .._trace import Trace
from .spans import Finished, emit

MAX_PENDING = 10_000  # finished calls waiting for their spans (beyond it the oldest go without)
WRITE_EVERY_S = 0.5  # how often the writer wakes (a flush wakes it at once)


class SpanHooks:
    """An installed instrumentation: its tracer, whether it records content, and its writer thread."""

    def __init__(self, tracer: Tracer, *, capture: bool, provider: TracerProvider | None = None) -> None:
        self.tracer = tracer
        self.capture = capture
        self.provider = provider
        self._pending: deque[Finished] = deque(maxlen=MAX_PENDING)  # appended without a lock or a wake-up
        self._flushes: deque[threading.Event] = deque()
        self._wake = threading.Event()
        self._closing = False
        self._writer = threading.Thread(target=self._write, name="alloy-nb-otel", daemon=True)
        self._writer.start()

    def call_finished(self, trace: Trace) -> None:
        began = time.time_ns() - int((time.perf_counter() - trace.clock_start) * 1e9)
        self._pending.append(Finished(trace, context.get_current(), began))

    @contextmanager
    def batch(self, items: int, engine: str, model: str) -> Iterator[None]:
        name = model.removeprefix("ollama:")
        attributes: dict[str, int | str] = {
            "alloy_nb.map.items": items,
            "alloy_nb.map.engine": engine,
            "gen_ai.request.model": name,
        }
        span = self.tracer.start_span(f"map {name}", kind=SpanKind.INTERNAL, attributes=attributes)
        token = context.attach(set_span_in_context(span))
        try:
            yield
        except BaseException as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            context.detach(token)
            span.end()

    def carrier(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        propagate.inject(headers)
        return headers

    @contextmanager
    def adopted(self, carrier: Mapping[str, str]) -> Iterator[None]:
        token = context.attach(propagate.extract(carrier))
        try:
            yield
        finally:
            context.detach(token)

    def flush(self, timeout: float) -> bool:
        """Wait until the spans of every call finished so far are written, then flush the provider
        (if it can, as the SDK's does); False on timeout."""
        written = threading.Event()
        self._flushes.append(written)
        self._wake.set()
        if not written.wait(timeout):
            return False
        force_flush = getattr(self.provider or get_tracer_provider(), "force_flush", None)
        return bool(force_flush(int(timeout * 1000))) if callable(force_flush) else True

    def close(self, timeout: float) -> None:
        """Write what is queued, then stop the writer thread."""
        self.flush(timeout)
        self._closing = True
        self._wake.set()
        self._writer.join(timeout)

    def _write(self) -> None:
        while not self._closing:
            self._wake.wait(WRITE_EVERY_S)
            self._wake.clear()
            flushes = [self._flushes.popleft() for _ in range(len(self._flushes))]
            while self._pending:
                try:
                    emit(self.tracer, self._pending.popleft(), capture=self.capture)
                except Exception:  # a failing provider or exporter never reaches a call
                    pass
            for written in flushes:
                written.set()
