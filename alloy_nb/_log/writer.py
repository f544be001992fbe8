"""Writing the call log off the caller's thread: `LogWriter.submit` queues a finished trace, a daemon
thread turns queued traces into rows and writes them in batches."""

from __future__ import annotations

import atexit
import os
import sqlite3
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any, TypeAlias

from .._trace.model import Trace
from ..errors import AlloyLogWarning
from .store import DbPath, connect, default_path, index_quietly, insert_many, row_of

# a finished trace with its notebook and cell, or its row kept for another try
_Queued: TypeAlias = tuple[Trace, str | None, str | None] | dict[str, Any]

FLUSH_INTERVAL_S = 1.0
BATCH_SIZE = 500
INDEX_BACKLOG = 2_000  # rows: calls that never pause are indexed in pieces of about this many
MAX_PENDING = 10_000
MAX_KEPT_BYTES = 128 * 1024 * 1024  # rows kept for another try while the database is locked


class LogWriter:
    """Logs finished calls to one SQLite file without slowing them down.

    Rows are written at most `FLUSH_INTERVAL_S` after their call finished (sooner when `BATCH_SIZE`
    are waiting); a process killed at any moment loses at most the calls of that last interval.
    Their words go into the search index once an interval passes without calls, once `INDEX_BACKLOG`
    rows wait, or at `close` (see `schema`): a burst of calls pays for the rows, not the index, and
    calls that never pause are indexed in pieces, never all at once by the first search.
    Beyond `max_pending` unwritten calls the oldest are dropped (counted in `dropped`); so are the
    oldest rows kept while the database is locked once they hold more than `max_kept_bytes` (a call's
    size is only known once its row is built, on the writer thread). A log that cannot be written
    warns once (`AlloyLogWarning`) and never raises into a call."""

    def __init__(
        self,
        path: DbPath | None = None,
        *,
        max_pending: int = MAX_PENDING,
        max_kept_bytes: int = MAX_KEPT_BYTES,
        connect: Callable[[DbPath], sqlite3.Connection] = connect,
    ) -> None:
        self.path = os.fspath(path if path is not None else default_path())
        self.dropped = 0  # calls not logged: over max_pending, or the database could not take them
        self.written = 0
        self._connect = connect
        self._max_pending = max_pending
        self._max_kept_bytes = max_kept_bytes
        self._pending: deque[_Queued] = deque()
        self._settled = 0  # submitted calls now written or dropped (flush waits for this to catch up)
        self._submitted = 0
        self._done = threading.Condition()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._warned = False
        atexit.register(self.flush)

    def submit(self, trace: Trace, notebook: str | None = None, cell: str | None = None) -> None:
        """Queue a finished call for the log; returns at once (the row is built on the writer thread)."""
        with self._done:
            if self._closed:
                self.dropped += 1
                return
            if len(self._pending) >= self._max_pending:
                self._pending.popleft()
                self.dropped += 1
                self._settled += 1
            self._pending.append((trace, notebook, cell))
            self._submitted += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="alloy_nb call log", daemon=True)
                self._thread.start()
        if len(self._pending) >= BATCH_SIZE:
            self._wake.set()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every call submitted so far is written (or dropped); False if `timeout` passed first."""
        with self._done:
            target = self._submitted
            if self._thread is None or self._settled >= target:
                return True
        self._wake.set()
        with self._done:
            return self._done.wait_for(lambda: self._settled >= target, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, stop the thread and close the database; later calls are not logged."""
        self.flush(timeout)
        with self._done:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout)
        atexit.unregister(self.flush)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        unindexed = 0  # rows written that the search index does not hold yet
        while True:
            self._wake.wait(FLUSH_INTERVAL_S)
            self._wake.clear()
            written = self.written
            conn = self._write_pending(conn)
            with self._done:
                closed = self._closed
            new = self.written - written
            unindexed += new
            pause = new == 0  # a round without calls: index the rows of the last burst
            if unindexed and conn is not None and (pause or unindexed >= INDEX_BACKLOG) and index_quietly(conn) is None:
                unindexed = 0
            if closed:
                with self._done:
                    self.dropped += len(self._pending)  # left by a flush that timed out
                    self._settle(len(self._pending))
                    self._pending.clear()
                if unindexed and conn is not None:
                    index_quietly(conn)
                break
        _close(conn)

    def _write_pending(self, conn: sqlite3.Connection | None) -> sqlite3.Connection | None:
        """Write the queue in batches; a locked database keeps its batch queued for the next round."""
        while True:
            with self._done:
                batch = [self._pending.popleft() for _ in range(min(len(self._pending), BATCH_SIZE))]
            if not batch:
                return conn
            rows = self._rows(batch)
            try:
                if conn is None:
                    conn = self._connect(self.path)
                insert_many(conn, rows)
            except Exception as error:  # whatever happens, the thread lives on to log later calls
                locked = _is_locked(error)
                if not locked:  # a corrupt or replaced file: open it afresh next time
                    _close(conn)
                    conn = None
                self._problem(error, kept=locked, count=len(rows))
                with self._done:
                    if locked:
                        self._pending.extendleft(reversed(rows))
                        self._drop_kept_beyond_budget()
                    else:
                        self.dropped += len(rows)
                        self._settle(len(rows))
                if locked:
                    return conn
                continue
            with self._done:
                self.written += len(rows)
                self._settle(len(rows))

    def _rows(self, batch: list[_Queued]) -> list[dict[str, Any]]:
        rows = []
        for item in batch:
            time.sleep(0)  # let the threads making calls run between rows (never hold the GIL for a batch)
            try:
                rows.append(item if isinstance(item, dict) else row_of(*item))
            except Exception as error:  # one unserialisable trace must not cost the batch
                self._problem(error, kept=False, count=1)
                with self._done:
                    self.dropped += 1
                    self._settle(1)
        return rows

    def _drop_kept_beyond_budget(self) -> None:
        """Drop the oldest kept rows while the kept rows hold more than `max_kept_bytes` (caller holds `_done`)."""
        kept = [item for item in self._pending if isinstance(item, dict)]
        size = sum(_row_bytes(row) for row in kept)
        for row in kept:
            if size <= self._max_kept_bytes:
                return
            self._pending.remove(row)
            size -= _row_bytes(row)
            self.dropped += 1
            self._settle(1)

    def _settle(self, count: int) -> None:
        """Count calls as done (the caller holds `_done`) and wake anyone waiting in `flush`."""
        self._settled += count
        self._done.notify_all()

    def _problem(self, error: BaseException, *, kept: bool, count: int = 0) -> None:
        """Warn about the first failure of this writer; later ones are only counted in `dropped`."""
        if self._warned:
            return
        self._warned = True
        fate = (
            f"the {count} call(s) waiting are kept and tried again every {FLUSH_INTERVAL_S:g}s"
            if kept
            else f"{count} call(s) were not logged"
        )
        message = (
            f"alloy_nb could not write its call log {self.path}: {_what_happened(error)} ({type(error).__name__}: "
            f"{error}). Your calls still run; {fate}, and further problems are not reported again. "
            "Move the log with configure(log_db='other/path.db') or ALLOY_LOG_DB, or turn it off with ALLOY_LOG=0."
        )
        try:
            warnings.warn(message, AlloyLogWarning, stacklevel=1)
        except Exception:  # warnings turned into errors: raised here they would only end the writer thread
            pass


def _row_bytes(row: dict[str, Any]) -> int:
    """About what a row holds in memory: its trace's JSON dominates."""
    return sum(len(value) for value in row.values() if isinstance(value, str))


def _what_happened(error: BaseException) -> str:
    text = str(error).lower()
    if _is_locked(error):
        return "another connection has held the database locked for longer than the busy timeout"
    if "readonly" in text or "read-only" in text:
        return "the database is read-only"
    if "full" in text:
        return "the disk (or the database's size limit) is full"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return "the file is not a SQLite database, or it is damaged"
    if isinstance(error, OSError) or "unable to open" in text:
        return "the file cannot be created or opened"
    return "writing failed"


def _is_locked(error: BaseException) -> bool:
    text = str(error).lower()
    return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _close(conn: sqlite3.Connection | None) -> None:
    if conn is not None:
        try:
            conn.close()
        except sqlite3.Error:
            pass
