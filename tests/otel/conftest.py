"""Span tests: calls against the scripted server, instrumented into the SDK's in-memory exporter, and
a real Arize Phoenix for the tests that export to one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_support import memory_provider, plain_spans
from phoenix_support import serving

from alloy_nb import otel
from alloy_nb._choices import STRATEGIES


@dataclass
class Recorded:
    """The spans an instrumented test wrote."""

    provider: TracerProvider
    exporter: InMemorySpanExporter

    def all(self) -> list[dict[str, Any]]:
        """Every span written so far (after waiting for the writer), as plain data, in the order they ended."""
        assert otel.flush(timeout=10)
        return plain_spans(self.exporter.get_finished_spans())

    def named(self, prefix: str) -> list[dict[str, Any]]:
        return [span for span in self.all() if span["name"].startswith(prefix)]

    def one(self, prefix: str) -> dict[str, Any]:
        found = self.named(prefix)
        assert len(found) == 1, [span["name"] for span in self.all()]
        return found[0]


@pytest.fixture(autouse=True)
def _alloy_at_server(alloy_at_server) -> None:
    """Every span test talks to the scripted server."""


@pytest.fixture(params=STRATEGIES)
def api(request: pytest.FixtureRequest) -> str:
    """Run the test once per strategy."""
    return request.param


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorded]:
    """alloy_nb instrumented into an in-memory exporter (content not captured), for the test."""
    monkeypatch.delenv(otel.CAPTURE_ENV, raising=False)
    provider, exporter = memory_provider()
    otel.instrument(tracer_provider=provider)
    yield Recorded(provider, exporter)
    otel.uninstrument()


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Arize Phoenix (see `phoenix_support`), one for every test that asks: its base URL."""
    with serving(tmp_path_factory.mktemp("phoenix")) as url:
        yield url
