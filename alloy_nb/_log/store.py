"""The call log on disk: opening it, turning a trace into a row, writing rows, and reading them back."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import urllib.parse
import warnings
from collections.abc import Iterable, Mapping
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeAlias

import platformdirs

from .._messages import SystemMessage, UserMessage
from .._trace.model import Trace
from ..errors import AlloyLogWarning, CallNotFound
from .logged import LoggedCall, logged_call
from .schema import COLUMNS, create_schema, index_new_rows, refuse_foreign

DbPath: TypeAlias = "str | os.PathLike[str]"  # a file path, or a `file:` URI


def default_path() -> Path:
    """Where the log lives unless configured otherwise: `calls.db` in the user data directory."""
    return Path(platformdirs.user_data_dir("alloy_nb")) / "calls.db"


def connect(path: DbPath | None = None, *, busy_timeout_s: float = 5.0) -> sqlite3.Connection:
    """Open the log in autocommit mode, creating the file (owner-only), WAL mode and the schema as needed.

    A `file:` URI (`file:calls.db?mode=ro`) goes to SQLite as it is; the file it may create is created
    owner-only first, as for a path."""
    target = os.fspath(path if path is not None else default_path())
    uri = target.startswith("file:")
    created = _file_of_uri(target) if uri else Path(target)
    if created is not None:
        _create_private(created)
    conn = sqlite3.connect(target, timeout=busy_timeout_s, isolation_level=None, uri=uri)
    try:
        refuse_foreign(conn)  # before anything is changed in it
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # in WAL mode still safe when the process dies
        conn.execute("PRAGMA recursive_triggers = ON")  # INSERT OR REPLACE then fires the FTS delete trigger
        create_schema(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def row_of(trace: Trace, notebook: str | None = None, cell: str | None = None) -> dict[str, Any]:
    """The `calls` row for a trace (see `schema`), secrets redacted."""
    responses = trace.responses
    thinking = "\n\n".join(r.thinking for r in responses if r.thinking)
    error = f"{trace.error.type}: {trace.error.message}" if trace.error else None
    return {
        "id": trace.id,
        "time": _utc(trace.started_at),
        "model": trace.model,
        "strategy": trace.strategy,
        "host": _redacted(trace.host),
        "status": trace.status,
        "prompt": _redacted(_prompt(trace)),
        "reply": _redacted(trace.reply_text()),
        "thinking": _redacted(thinking) if thinking else None,
        "prompt_tokens": _total(r.usage.prompt_tokens for r in responses),
        "completion_tokens": _total(r.usage.completion_tokens for r in responses),
        "duration_s": trace.duration_s,
        "ttft_s": responses[0].ttft_s if responses else None,
        "output_type": trace.output_type,
        "tools": json.dumps(trace.tools),
        "notebook": notebook,
        "cell": cell,
        "error": _redacted(error) if error else None,
        "trace": _redacted(trace.to_json(indent=None)),
    }


_INSERT = f"INSERT OR REPLACE INTO calls ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)})"


def insert_many(conn: sqlite3.Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Write rows in one transaction (a row with a logged id replaces it); all or none are written."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(_INSERT, rows)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite rolls back by itself after some errors (a full disk)
            conn.execute("ROLLBACK")
        raise


def search(
    query: str | None = None,
    *,
    n: int = 20,
    model: str | None = None,
    status: str | None = None,
    since: str | datetime | timedelta | None = None,
    path: DbPath | None = None,
) -> list[LoggedCall]:
    """The logged calls matching every filter given, newest first, at most `n` (`n <= 0`: all).

    `query` is words to find in the prompt or reply (all of them; `word*` matches a prefix);
    `model` is the model string with or without `ollama:`; `since` is a duration back from now
    ("30m", "3h", "1d", "2w"), a timedelta, or a datetime (naive ones are local time)."""
    target = os.fspath(path if path is not None else default_path())
    for name, value in (("query", query), ("model", model), ("status", status)):
        _check_text(name, value)
    if not _exists(target):
        return []
    source, where, params = "calls", [], []
    match = fts_query(query or "")
    if match:
        source += " JOIN calls_fts ON calls_fts.rowid = calls.rowid"
        where.append("calls_fts MATCH ?")
        params.append(match)
    if model:
        where.append("calls.model IN (?, ?)")
        params += [model, f"ollama:{model}"]
    if status:
        where.append("calls.status = ?")
        params.append(status)
    if since is not None:
        where.append("calls.time >= ?")
        params.append(cutoff(since))
    sql = (
        f"SELECT {', '.join('calls.' + c for c in COLUMNS)} FROM {source}"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY calls.time DESC, calls.rowid DESC LIMIT ?"
    )
    with closing(connect(target)) as conn:
        if match:
            _index_for_search(conn, target)  # what the writer has not indexed yet
        try:
            rows = conn.execute(sql, (*params, n if 0 < n < 2**63 else -1)).fetchall()  # beyond SQLite's int: all
        except sqlite3.OperationalError as error:
            if "fts5" not in str(error):
                raise
            raise ValueError(
                f"Cannot search the call log for {query!r}: {error}. Search for plain words; `word*` matches a prefix."
            ) from None
    return [logged_call(row) for row in rows]


def _index_for_search(conn: sqlite3.Connection, target: str) -> None:
    """Index the rows written since the last time; when this connection may not (a read-only log, or
    one locked past the busy timeout), warn how many of the latest calls the results may miss."""
    reason = index_quietly(conn)
    if reason is None:
        return
    try:
        (missing,) = conn.execute(
            "SELECT count(*) FROM calls WHERE rowid > (SELECT upto FROM calls_fts_done)"
        ).fetchone()
    except sqlite3.Error:
        return  # a log this version cannot read further is reported by the search itself
    if missing:
        what, verb, it = (
            ("The latest call", "is", "it") if missing == 1 else (f"The latest {missing} calls", "are", "them")
        )
        warnings.warn(
            f"{what} in {target} {verb} not in its search index yet, and this search could not add {it} ({reason}), "
            f"so the results may miss {it}. The process writing the log indexes its calls when they pause or it "
            "exits; a search with write access indexes them first.",
            AlloyLogWarning,
            stacklevel=4,  # the caller of alloy_nb.logs.search
        )


def index_quietly(conn: sqlite3.Connection) -> str | None:
    """Index the rows written since the last time; when this connection may not (read-only, locked for
    longer than the busy timeout, damaged), why not: the next pause in calls or search does it."""
    try:
        index_new_rows(conn)
    except sqlite3.Error as error:
        return str(error)
    return None


def get(id: str, path: DbPath | None = None) -> Trace:
    """The trace of the logged call with this id, or with the one id that starts with it."""
    target = os.fspath(path if path is not None else default_path())
    if not _exists(target):
        raise CallNotFound(f"No call log at {target} yet, so no call {id!r}. Calls are logged as they finish.")
    with closing(connect(target)) as conn:
        rows = (
            conn.execute("SELECT id, trace FROM calls WHERE id = ?", (id,)).fetchall()
            or conn.execute(
                "SELECT id, trace FROM calls WHERE substr(id, 1, ?) = ? ORDER BY time DESC LIMIT 6", (len(id), id)
            ).fetchall()
        )
    if not rows:
        raise CallNotFound(
            f"No call with id {id!r} (or starting with it) in the call log at {target}. "
            "`alloy-nb logs` lists the logged calls with their ids."
        )
    if len(rows) > 1:
        ids = ", ".join(row[0] for row in rows[:5]) + (", …" if len(rows) > 5 else "")
        raise CallNotFound(f"Several logged calls have ids starting with {id!r} ({ids}); give more of the id.")
    return Trace.from_json(rows[0][1])


def prune(older_than: str | datetime | timedelta, path: DbPath | None = None, *, vacuum: bool = False) -> int:
    """Delete the logged calls that started before `older_than` (a duration back from now, as for
    `search`'s `since`, or a moment); returns how many went. Their space is reused by later calls;
    `vacuum=True` also gives it back to the disk, by rewriting the file (slow for a large log, and
    it needs as much free disk as the log takes)."""
    target = os.fspath(path if path is not None else default_path())
    if not _exists(target):
        return 0
    before = cutoff(older_than, name="older_than")
    with closing(connect(target)) as conn:
        deleted = conn.execute("DELETE FROM calls WHERE time < ?", (before,)).rowcount
        if vacuum:
            conn.execute("VACUUM")
    return int(deleted)


def fts_query(text: str) -> str:
    """User words as an FTS5 query that cannot be a syntax error: each word quoted, `*` kept as a prefix.

    >>> print(fts_query("paris c++ (x pre*"))
    "paris" "c++" "(x" "pre"*
    >>> fts_query("  ")
    ''
    """
    words = (word for word in text.split() if word.rstrip("*"))
    return " ".join('"' + w.rstrip("*").replace('"', '""') + '"' + ("*" if w.endswith("*") else "") for w in words)


_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def cutoff(since: str | datetime | timedelta, now: datetime | None = None, *, name: str = "since") -> str:
    """The `time` value from which calls count as `since` (a duration back from `now`, or a moment);
    `name` is the argument that errors name.

    >>> cutoff("90m", now=datetime(2025, 1, 31, 12, 0, tzinfo=timezone.utc))
    '2025-01-31T10:30:00.000+00:00'
    """
    now = now or datetime.now(timezone.utc)
    given = since
    try:
        if isinstance(since, str):
            match = _DURATION.fullmatch(since)
            if not match:
                raise ValueError(
                    f"{name}={since!r} is not a duration. Use a number and a unit: '45s', '30m', '3h', '1d', '2w' "
                    "(or pass a datetime)."
                )
            since = timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2].lower()])
        moment = now - since if isinstance(since, timedelta) else since.astimezone(timezone.utc)
        return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    except OverflowError:  # a duration beyond what a timedelta or a datetime holds
        raise ValueError(
            f"{name}={given!r} reaches back before the year 1. Give a shorter duration, e.g. '3650d' for ten "
            "years, or a datetime."
        ) from None


_URL_CREDENTIALS = re.compile(r"(?<=://)[^/\s@\"'\\]+:[^/\s@\"'\\]*@")
_SECRET_KEY = r"(?:proxy-)?authorization|(?:x-)?api[_-]?key"
_SECRET_KEY_WORDS = ("authorization", "api_key", "api-key", "apikey")  # what _SECRET_KEY can match, as plain text
_SECRET_JSON_VALUE = re.compile(rf'("(?:{_SECRET_KEY})"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE)
_SECRET_TEXT_VALUE = re.compile(
    rf"\b((?:{_SECRET_KEY})\s*[:=]\s*(?:\\?[\"'])?(?:(?:bearer|basic|token)\s+)?)[^\s\"'\\,;&]+", re.IGNORECASE
)


def _redacted(text: str) -> str:
    """`text` without URL passwords and `Authorization` / `api_key` values (in JSON or in prose).

    >>> _redacted("http://ann:s3cret@gpu-box:11434")
    'http://[redacted]@gpu-box:11434'
    >>> _redacted('{"api_key": "sk-1", "q": "Authorization: Bearer abc"}')
    '{"api_key": "[redacted]", "q": "Authorization: Bearer [redacted]"}'
    """
    if "@" in text:
        text = _URL_CREDENTIALS.sub("[redacted]@", text)
    folded = text.lower()
    if not any(key in folded for key in _SECRET_KEY_WORDS):  # the common case: nothing to look for
        return text
    text = _SECRET_JSON_VALUE.sub(r'\1"[redacted]"', text)
    return _SECRET_TEXT_VALUE.sub(r"\1[redacted]", text)


def _create_private(path: Path) -> None:
    """Create the database file readable and writable by its owner only (SQLite gives its -wal and
    -shm files the same permissions)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:  # another process created it a moment ago
        pass


def _file_of_uri(uri: str) -> Path | None:
    """The file opening a `file:` URI may create, or None: read-only, read-write (the file must exist),
    in memory, or on another host (which SQLite refuses).

    >>> _file_of_uri("file:///tmp/calls%20log.db?cache=private"), _file_of_uri("file:calls.db?mode=ro")
    (PosixPath('/tmp/calls log.db'), None)
    """
    parts = urllib.parse.urlsplit(uri)
    mode = urllib.parse.parse_qs(parts.query).get("mode", [""])[-1]
    path = urllib.parse.unquote(parts.path)
    if mode in ("ro", "rw", "memory") or path in ("", ":memory:") or parts.netloc not in ("", "localhost"):
        return None
    return Path(path)


def _check_text(name: str, value: str | None) -> None:
    """Refuse what SQLite cannot take as text, naming the argument and what to pass instead."""
    if value is None:
        return
    if "\x00" in value:
        raise ValueError(
            f"{name}={value!r} contains a NUL character (\\x00), which the call log cannot search for; remove it."
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"{name}={value!r} is not valid text: it holds a lone surrogate (often bytes that were not UTF-8). "
            "Pass UTF-8 text."
        ) from None


def _exists(target: str) -> bool:
    return target.startswith("file:") or Path(target).exists()


def _utc(started_at: str) -> str:
    try:
        moment = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        return started_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _prompt(trace: Trace) -> str:
    """The system prompt and the user's messages the call began with (what a search of the prompt finds)."""
    messages = trace.first_messages()
    return "\n\n".join(m.text for m in messages if isinstance(m, (SystemMessage, UserMessage)) and m.text)


def _total(counts: Iterable[int | None]) -> int | None:
    known = [count for count in counts if count is not None]
    return sum(known) if known else None
