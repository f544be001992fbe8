"""The call log from Python: `alloy_nb.logs.search("paris", since="1d")`, `alloy_nb.logs.get(id)`.

Every finished call is logged (see `configure(log=..., log_db=...)`); these read the configured
log file, after writing out the calls still queued, so a call made a moment ago is found.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._log import CallNotFound, LoggedCall, get as _get, prune as _prune, search as _search
from ._log.session import configured_path, flush
from ._replay import Replay, replay as _replay
from ._trace import Trace

if TYPE_CHECKING:
    from ._tools import Tool

__all__ = ["CallNotFound", "LoggedCall", "Replay", "flush", "get", "path", "prune", "replay", "search"]


def path() -> Path:
    """The configured call log file (`log_db`, else `calls.db` in the user data directory)."""
    return configured_path()


def search(
    query: str | None = None,
    *,
    n: int = 20,
    model: str | None = None,
    status: str | None = None,
    since: str | datetime | timedelta | None = None,
) -> list[LoggedCall]:
    """Logged calls matching every filter, newest first (`.trace` on each gives its `Trace`).

    A `since` that is not a duration or reaches back before the year 1, or text SQLite cannot take (a NUL
    character), is a `ValueError` that names the argument and what to pass instead."""
    flush()
    return _search(query, n=n, model=model, status=status, since=since, path=path())


def get(id: str) -> Trace:
    """The trace of the logged call with this id (or the one id starting with it)."""
    flush()
    return _get(id, path=path())


def prune(older_than: str | datetime | timedelta, *, vacuum: bool = False) -> int:
    """Delete the logged calls older than `older_than` ("30d", "2w", a timedelta or a datetime) from the
    configured log; returns how many went. `vacuum=True` also shrinks the file (see `log.store.prune`)."""
    flush()
    return _prune(older_than, path(), vacuum=vacuum)


def replay(
    call: Trace | str,
    *,
    namespace: Mapping[str, Any] | None = None,
    output: Any = None,
    tools: Sequence[Tool | Callable[..., Any]] = (),
    **changes: Any,
) -> Replay:
    """Send a logged call (its trace, or its id in the log) again with `changes` (model=, api=, system=,
    think=, temperature=, host=, ...), to the configured host unless `host=` is given.

    A logged tool runs only if an alloy_nb tool (made by `@tool`) of its name is in `tools` or `namespace`;
    the others answer with their logged results. The `Replay` shows both calls side by side with a diff
    of replies and request bodies, and says what it did not take from the log."""
    trace = get(call) if isinstance(call, str) else call
    return _replay(trace, namespace=namespace, output=output, tools=tools, **changes)
