"""Shared fixtures: one scripted Ollama-compatible server for the whole session."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

import alloy_nb
import alloy_nb._config
import alloy_nb.logs
from alloy_nb.testing import ScriptedEngine, ScriptedServer, ServerThread

pytest_plugins = ["shell_fixture"]

_USER_DATA = tempfile.mkdtemp(prefix="alloy-nb-tests-")


def pytest_configure(config: pytest.Config) -> None:
    """Calls made by tests (and the kernels they start) go to a call log of their own in a temporary
    user data directory, never the user's."""
    os.environ["XDG_DATA_HOME"] = _USER_DATA


def pytest_unconfigure(config: pytest.Config) -> None:
    """The session's user data directory goes with the session."""
    alloy_nb.logs.flush()  # the writer thread is done with the log before it is removed
    shutil.rmtree(_USER_DATA, ignore_errors=True)


@pytest.fixture(scope="session")
def session_server() -> Iterator[ScriptedServer]:
    """The one scripted server of the session, on a free loopback port."""
    engine = ScriptedEngine()
    with ServerThread(engine) as thread:
        yield ScriptedServer(url=thread.url, engine=engine)


@pytest.fixture
def server(session_server: ScriptedServer) -> ScriptedServer:
    """The session server with an empty script and no recorded requests."""
    session_server.engine.reset()
    return session_server


@pytest.fixture
def alloy_at_server(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedServer]:
    """Point alloy_nb at the scripted server, with a clean configuration around the test."""
    for names in alloy_nb._config.ENV_VARS.values():
        for var in names:
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    alloy_nb.reset_configuration()
    yield server
    alloy_nb.reset_configuration()
