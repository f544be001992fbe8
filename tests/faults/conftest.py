"""Fault-matrix fixtures: the notebook tests' `shell`, and a server left idle for the modules after."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest


def _notebook_fixtures() -> ModuleType:
    """tests/notebook/conftest.py, loaded under its own name so its `shell` fixture serves here too."""
    path = Path(__file__).resolve().parents[1] / "notebook" / "conftest.py"
    spec = importlib.util.spec_from_file_location("alloy_nb_notebook_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


shell = _notebook_fixtures().shell


@pytest.fixture(scope="module", autouse=True)
def _server_idle_afterwards(session_server) -> Iterator[None]:
    """Scripted delays outlive the calls that timed out or were interrupted; let them finish here."""
    yield
    deadline = time.monotonic() + 10
    while session_server.engine.active and time.monotonic() < deadline:
        time.sleep(0.05)
