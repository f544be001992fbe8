"""The search index is filled in bulk (by the writer once calls pause, by `search` before it looks)
and stays whole through replaced, pruned and re-used rows, and through the upgrade from version 1."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
import warnings
from contextlib import closing
from pathlib import Path

from log_helpers import make_trace

from alloy_nb._log import prune, search
from alloy_nb._log.schema import MIGRATIONS, index_new_rows
from alloy_nb._log.store import connect, insert_many, row_of
from alloy_nb._log.writer import FLUSH_INTERVAL_S, INDEX_BACKLOG, LogWriter
from alloy_nb._trace import Trace
from alloy_nb.errors import AlloyLogWarning
from alloy_nb.testing import ScriptedTurn as Reply


def matching(db: Path, word: str) -> list[str]:
    """What a plain SQLite client finds in the index (no `search`, so nothing is indexed first)."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT calls.id FROM calls JOIN calls_fts ON calls_fts.rowid = calls.rowid WHERE calls_fts MATCH ?",
            (word,),
        ).fetchall()
    return sorted(row[0] for row in rows)


def check_whole(db: Path) -> None:
    """The index holds exactly the words of the rows it says it holds, and then, indexed, of every row
    (rank 1 compares the index with the `calls` table; the plain check only checks the index itself)."""
    with closing(connect(db)) as conn:
        index_new_rows(conn)
        conn.execute("INSERT INTO calls_fts (calls_fts, rank) VALUES ('integrity-check', 1)")


def rows_in(conn: sqlite3.Connection) -> int:
    """The rows of the log so far (none while the writer is still creating it)."""
    try:
        return int(conn.execute("SELECT count(*) FROM calls").fetchone()[0])
    except sqlite3.OperationalError:  # no table yet
        return 0


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


def test_calls_that_never_pause_are_indexed_in_pieces(db: Path) -> None:
    """A long run of calls is indexed as its rows pile up, not left whole to the first search."""
    traces = [make_trace(f"question {n}", "atoll") for n in range(INDEX_BACKLOG + 100)]
    writer = LogWriter(db)
    for trace in traces:
        writer.submit(trace)
    deadline = time.monotonic() + 30  # (not flush(): it wakes the writer for a round without calls, a pause)
    while not db.exists():
        assert time.monotonic() < deadline, "the writer did not create the log"
        time.sleep(0.01)
    with closing(sqlite3.connect(db, timeout=5)) as conn:
        while rows_in(conn) < len(traces):
            assert time.monotonic() < deadline, "the writer did not write the rows"
            time.sleep(0.01)
        written_at = time.monotonic()
        (upto,) = conn.execute("SELECT upto FROM calls_fts_done").fetchone()
        while upto < INDEX_BACKLOG and time.monotonic() - written_at < FLUSH_INTERVAL_S / 2:
            time.sleep(0.01)
            (upto,) = conn.execute("SELECT upto FROM calls_fts_done").fetchone()
    assert upto >= INDEX_BACKLOG, "indexed only after a pause (a second without calls)"
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


EXITS_AT_ONCE = """
import sys
from alloy_nb import ask, configure

configure(host=sys.argv[1], log_db=sys.argv[2])
print(ask("Tell me about mangroves."), ask("And about kelp?"))
"""


def test_a_process_that_exits_right_after_its_calls_leaves_them_indexed(server, db: Path) -> None:
    """A plain SQLite client reading the log afterwards finds every call (the writer indexes at exit)."""
    server.script(Reply(text="Salt-tolerant trees."), Reply(text="A seaweed."))
    done = subprocess.run(
        [sys.executable, "-c", EXITS_AT_ONCE, server.url, str(db)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert len(matching(db, "mangroves")) == 1 and len(matching(db, "seaweed")) == 1
    check_whole(db)


def test_a_search_that_cannot_index_says_what_it_may_miss(db: Path) -> None:
    indexed, latest = make_trace("an old question", "lagoon"), make_trace("a new question", "lagoon")
    write(db, indexed)
    with closing(connect(db)) as conn:
        index_new_rows(conn)
    write(db, latest)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        found = search("lagoon", path=f"file:{db}?mode=ro")  # read-only: it may not index
    assert [call.id for call in found] == [indexed.id]
    assert [w.category for w in seen] == [AlloyLogWarning]
    assert "The latest call in" in str(seen[0].message) and "may miss it." in str(seen[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sorted(call.id for call in search("lagoon", path=db)) == sorted([indexed.id, latest.id])
