"""Fault-matrix fixtures: a server left idle for the modules after."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module", autouse=True)
def _server_idle_afterwards(session_server) -> Iterator[None]:
    """Scripted delays outlive the calls that timed out or were interrupted; let them finish here."""
    yield
    deadline = time.monotonic() + 10
    while session_server.engine.active and time.monotonic() < deadline:
        time.sleep(0.05)
