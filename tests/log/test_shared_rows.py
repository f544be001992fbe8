"""A log someone shared or edited is untrusted: SQLite keeps text in a number column and a NULL or a
number in a text one. Listing it shows every row, typed as the columns say, and sends nothing to the
terminal that it would obey."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from log_helpers import make_trace

from alloy_nb._log.store import connect, insert_many, row_of, search
from alloy_nb.cli import main


def test_rows_edited_into_other_types_are_listed_typed_and_terminal_safe(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = [f"call{n}" for n in range(4)]
    traces = [make_trace(f"question {n}", f"answer {n}") for n in range(4)]
    for trace, call_id in zip(traces, ids, strict=True):
        trace.id = call_id
    with connect(db) as conn:
        insert_many(conn, [row_of(trace) for trace in traces])
        conn.execute("UPDATE calls SET prompt_tokens = ? WHERE id = 'call0'", ("\x1b]52;c;SGVsbG8=\x07\x1b[2J",))
        conn.execute("UPDATE calls SET tools = 'not json', model = NULL WHERE id = 'call1'")
        conn.execute("UPDATE calls SET tools = '5', duration_s = 'slow', status = 7 WHERE id = 'call2'")
        conn.commit()
    conn.close()
    calls = {call.id: call for call in search(n=10, path=db)}
    assert set(calls) == set(ids)
    assert calls["call0"].prompt_tokens is None and calls["call3"].tools == ()
    assert calls["call1"].tools == () and calls["call1"].model == ""
    assert calls["call2"].tools == () and calls["call2"].duration_s is None and calls["call2"].status == "7"
    assert main(["logs", "--db", str(db), "-n", "99999999999999999999"]) == 0
    listing = capsys.readouterr().out
    assert "\x1b" not in listing and "\x07" not in listing
    assert all(call_id in listing for call_id in ids)


def test_another_program_s_database_given_as_the_log_is_refused_and_left_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "browser.db"
    with closing(sqlite3.connect(other)) as conn, conn:
        conn.execute("CREATE TABLE bookmarks (url TEXT)")
        conn.execute("INSERT INTO bookmarks VALUES ('https://example.org')")
    before = other.read_bytes()
    assert main(["logs", "--db", str(other)]) == 1
    assert "not an alloy_nb call log" in capsys.readouterr().err
    with pytest.raises(sqlite3.DatabaseError, match="another program's tables"):
        search(path=other)
    assert other.read_bytes() == before and not other.with_name("browser.db-wal").exists()
    with closing(sqlite3.connect(other)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
