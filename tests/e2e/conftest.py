"""End-to-end tests against the embedded SmolLM2-135M model, served by `alloy-nb serve` in a subprocess."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import alloy_nb
from alloy_nb import LocalServer, start_local_server
from alloy_nb._choices import STRATEGIES


@pytest.fixture(scope="session")
def embedded() -> Iterator[LocalServer]:
    """The embedded server, started the way a notebook starts it (a free loopback port)."""
    server = start_local_server(reuse=False, engine="llama")
    assert server.started_here and server.url.startswith("http://127.0.0.1:")
    yield server
    server.stop()
    assert server.process.poll() is not None


@pytest.fixture(autouse=True)
def use_embedded(embedded: LocalServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("ALLOY_MODEL", "ALLOY_EXTRA_JSON", "OLLAMA_HOST"):
        monkeypatch.delenv(var, raising=False)
    alloy_nb.reset_configuration()
    alloy_nb.configure(host=embedded.url, model="ollama:smollm2:135m", temperature=0.0)
    yield
    alloy_nb.reset_configuration()


@pytest.fixture(params=STRATEGIES)
def api(request: pytest.FixtureRequest) -> str:
    return request.param
