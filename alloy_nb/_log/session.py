"""This process's call log: every finished call goes to one writer per database file.

`log_call` is all a call pays: a setting check and a queue append (`LogWriter.submit`). Where
calls come from (a notebook's path and cell) is set by the notebook layer before each cell runs.
"""

from __future__ import annotations

import atexit
import functools
import threading
from pathlib import Path

from .._config import Config, current
from .._trace.model import Trace
from .store import default_path
from .writer import LogWriter

_writers: dict[str, LogWriter] = {}
_lock = threading.Lock()
_location: tuple[str | None, str | None] = (None, None)


def log_call(trace: Trace, config: Config) -> None:
    """Queue a finished call for the log (unless `log` is off)."""
    if config.log:
        writer_for(config.log_db).submit(trace, *_location)


def configured_path() -> Path:
    """The configured log file: `log_db`, else `default_path()`."""
    log_db = current().log_db
    return Path(log_db) if log_db else default_path()


def writer_for(path: str | None = None) -> LogWriter:
    """The writer of a log file (default: the configured one's default location), made on first use."""
    target = str(path) if path is not None else _default_target()
    with _lock:
        writer = _writers.get(target)
        if writer is None:
            writer = _writers[target] = LogWriter(target)
        return writer


@functools.cache
def _default_target() -> str:
    """The default log file, resolved once (not on every call)."""
    return str(default_path())


def set_location(notebook: str | None, cell: str | None) -> None:
    """Say where the next calls come from (the notebook layer does, before each cell)."""
    global _location
    _location = (notebook, cell)


def flush(timeout: float = 5.0) -> bool:
    """Write every call logged so far, in every log file; False if `timeout` passed first."""
    with _lock:
        writers = list(_writers.values())
    return all(writer.flush(timeout) for writer in writers)


def _close_all() -> None:
    """At exit: write what is queued, index it for search (a log read later by another program finds
    it) and close every log file."""
    with _lock:
        writers = list(_writers.values())
    for writer in writers:
        writer.close()


atexit.register(_close_all)  # before any writer's own flush is registered, so it runs after them
