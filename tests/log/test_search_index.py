"""The search index is filled in bulk (by the writer once calls pause, by `search` before it looks)
and stays whole through replaced, pruned and re-used rows, and through the upgrade from version 1."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

from log_helpers import make_trace

from alloy_nb._log import prune, search
from alloy_nb._log.schema import MIGRATIONS
from alloy_nb._log.store import connect, insert_many, row_of
from alloy_nb._log.writer import FLUSH_INTERVAL_S, LogWriter
from alloy_nb._trace import Trace


def matching(db: Path, word: str) -> list[str]:
    """What a plain SQLite client finds in the index (no `search`, so nothing is indexed first)."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT calls.id FROM calls JOIN calls_fts ON calls_fts.rowid = calls.rowid WHERE calls_fts MATCH ?",
            (word,),
        ).fetchall()
    return sorted(row[0] for row in rows)


def check_whole(db: Path) -> None:
    with closing(connect(db)) as conn:
        conn.execute("INSERT INTO calls_fts (calls_fts) VALUES ('integrity-check')")


def write(db: Path, *traces: Trace) -> None:
    with closing(connect(db)) as conn:
        insert_many(conn, [row_of(trace) for trace in traces])


def test_the_writer_indexes_a_burst_of_calls_once_they_pause(db: Path) -> None:
    writer = LogWriter(db)
    traces = [make_trace(f"question {n}", "tidal") for n in range(3)]
    for trace in traces:
        writer.submit(trace)
    assert writer.flush()
    deadline = time.monotonic() + 10 * FLUSH_INTERVAL_S
    while matching(db, "tidal") != sorted(t.id for t in traces) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert matching(db, "tidal") == sorted(t.id for t in traces)
    writer.close()
    check_whole(db)


def test_closing_the_writer_indexes_what_it_wrote(db: Path) -> None:
    writer = LogWriter(db)
    trace = make_trace("a question", "estuary")
    writer.submit(trace)
    writer.close()
    assert matching(db, "estuary") == [trace.id]


def test_search_finds_rows_not_indexed_yet(db: Path) -> None:
    first, second = make_trace("one", "lagoon"), make_trace("two", "lagoon")
    write(db, first)
    assert [c.id for c in search("lagoon", path=db)] == [first.id]
    write(db, second)
    assert {c.id for c in search("lagoon", path=db)} == {first.id, second.id}
    check_whole(db)


def test_replaced_pruned_and_reused_rows_keep_the_index_whole(db: Path) -> None:
    kept, last = make_trace("kept", "harbour"), make_trace("last", "reef")
    write(db, kept, last)
    last.result = "atoll"  # replaced before it was indexed
    write(db, last)
    assert [c.id for c in search("atoll", path=db)] == [last.id] and search("reef", path=db) == []
    last.result = "lagoon"  # replaced after
    write(db, last)
    assert [c.id for c in search("lagoon", path=db)] == [last.id] and search("atoll", path=db) == []
    check_whole(db)
    # the newest row goes; SQLite gives the next row its rowid again, and that row is indexed too
    last.started_at = "2000-01-01T00:00:00.000+00:00"
    write(db, last)
    search("lagoon", path=db)
    assert prune("1d", db) == 1
    fresh = make_trace("fresh", "shoal")
    write(db, fresh)
    assert [c.id for c in search("shoal", path=db)] == [fresh.id]
    assert search("lagoon", path=db) == [] and [c.id for c in search("harbour", path=db)] == [kept.id]
    check_whole(db)


def test_a_version_1_log_is_upgraded_with_its_index(db: Path) -> None:
    old = make_trace("an old question", "fjord")
    db.parent.mkdir(parents=True)
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        insert_many(conn, [row_of(old)])  # indexed by version 1's insert trigger
    new = make_trace("a new question", "fjord")
    write(db, new)
    assert {c.id for c in search("fjord", path=db)} == {old.id, new.id}
    with closing(connect(db)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (2,)
    check_whole(db)
