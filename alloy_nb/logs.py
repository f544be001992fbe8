"""The call log from Python: `alloy_nb.logs.search("paris", since="1d")`, `alloy_nb.logs.get(id)`.

Every finished call is logged (see `configure(log=..., log_db=...)`); these read the configured
log file, after writing out the calls still queued, so a call made a moment ago is found.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from .config import current
from .log import CallNotFound, LoggedCall, get as _get, search as _search
from .log.session import flush
from .log.store import default_path
from .trace import Trace

__all__ = ["CallNotFound", "LoggedCall", "flush", "get", "path", "search"]


def path() -> Path:
    """The configured call log file (`log_db`, else `calls.db` in the user data directory)."""
    configured = current().log_db
    return Path(configured) if configured else default_path()


def search(
    query: str | None = None,
    *,
    n: int = 20,
    model: str | None = None,
    status: str | None = None,
    since: str | datetime | timedelta | None = None,
) -> list[LoggedCall]:
    """Logged calls matching every filter, newest first (`.trace` on each gives its `Trace`)."""
    flush()
    return _search(query, n=n, model=model, status=status, since=since, path=path())


def get(id: str) -> Trace:
    """The trace of the logged call with this id (or the one id starting with it)."""
    flush()
    return _get(id, path=path())
