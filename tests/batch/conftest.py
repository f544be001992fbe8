"""Batch tests: `map` against real scripted servers over HTTP, through the real SDKs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from batch_helpers import echo_after

from alloy_nb.testing import ScriptedEngine, ServerThread


@pytest.fixture(autouse=True)
def _alloy_at_server(alloy_at_server) -> None:
    """Every batch test starts from a clean configuration pointed at the session's scripted server."""


@pytest.fixture
def two_hosts() -> Iterator[tuple[ServerThread, ServerThread]]:
    """Two more scripted servers, each answering one request at a time after 50 ms (like a default Ollama)."""
    engines = [ScriptedEngine(responder=echo_after(lambda _: 0.05), parallel=1) for _ in range(2)]
    with ServerThread(engines[0]) as first, ServerThread(engines[1]) as second:
        yield first, second
