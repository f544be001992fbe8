"""Batch tests: `map` against real scripted servers over HTTP, through the real SDKs."""

from __future__ import annotations

from collections.abc import Iterator

import distributed  # the test extra installs it: these tests always run
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


@pytest.fixture(scope="module")
def cluster_client() -> Iterator[distributed.Client]:
    """A real LocalCluster with two worker processes (about 2 s to start), one per test module."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client
