"""Wire tests: alloy_nb's adapter through the real SDKs against the scripted server over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import alloy_nb


@pytest.fixture(params=["native", "openai_chat"])
def api(request: pytest.FixtureRequest) -> str:
    """Run the test once per strategy."""
    return request.param


@pytest.fixture(autouse=True)
def alloy_at_server(server, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point alloy_nb at the scripted server, with a clean configuration around each test."""
    for var in ("ALLOY_MODEL", "ALLOY_EXTRA_JSON", "ALLOY_MAX_TOOL_TURNS", "ALLOY_SYSTEM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    alloy_nb.reset_configuration()
    yield
    alloy_nb.reset_configuration()

