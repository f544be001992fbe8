"""OpenTelemetry for the tests: the SDK keeping spans in memory, in this process and on Dask workers
(their functions live here, importable by the workers), and spans as plain data to compare."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from alloy_nb import otel

_worker_exporter: InMemorySpanExporter | None = None


def memory_provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    """An SDK provider that hands every span, as it ends, to an in-memory exporter."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def plain(span: ReadableSpan) -> dict[str, Any]:
    """A span as plain data: name, kind, ids (hex), parent, status, attributes, event names."""
    context = span.get_span_context()
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "status": span.status.status_code.name,
        "status_message": span.status.description,
        "attributes": dict(span.attributes or {}),
        "events": [(event.name, dict(event.attributes or {})) for event in span.events],
        "start": span.start_time,
        "end": span.end_time,
    }


def plain_spans(spans: Sequence[ReadableSpan]) -> list[dict[str, Any]]:
    return [plain(span) for span in spans]


def instrument_worker() -> int:
    """On a Dask worker: instrument alloy_nb into an in-memory exporter; returns the worker's pid."""
    global _worker_exporter
    provider, _worker_exporter = memory_provider()
    otel.instrument(tracer_provider=provider)
    return os.getpid()


def worker_spans() -> list[dict[str, Any]]:
    """On a Dask worker: the spans written so far, as plain data, then forgotten."""
    if _worker_exporter is None:
        return []
    otel.flush()
    found = plain_spans(_worker_exporter.get_finished_spans())
    _worker_exporter.clear()
    return found


def uninstrument_worker() -> None:
    otel.uninstrument()
