"""A log someone shared or edited is untrusted: SQLite keeps text in a number column and a NULL or a
number in a text one. Listing it shows every row, typed as the columns say, and sends nothing to the
terminal that it would obey."""

from __future__ import annotations

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
