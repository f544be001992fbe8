"""Every call is logged as it finishes: ask, stream, errors, batch items; `log=False` turns it off."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import alloy_nb
from alloy_nb import ask, logs
from alloy_nb.testing import ScriptedTurn as Reply


@pytest.fixture
def log_db(tmp_path: Path, alloy_at_server) -> Path:
    path = tmp_path / "calls.db"
    alloy_nb.configure(log_db=str(path))
    return path


def _rows(path: Path) -> list[tuple[str, str, str, str]]:
    logs.flush()
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT id, status, prompt, reply FROM calls ORDER BY time").fetchall()


def test_a_call_a_stream_and_a_failure_are_each_a_row(log_db: Path, server) -> None:
    server.script(Reply(text="Paris is the capital."), Reply(chunks=["Blue ", "sky."]), Reply(status=500, error="boom"))
    _, trace = ask.traced("Capital of France?")
    stream = ask.stream("Colour of the sky?")
    list(stream)
    with pytest.raises(alloy_nb.ServerError):
        ask("Fail now.", retry=1, transient_retries=0)
    rows = _rows(log_db)
    assert [(status, reply) for _, status, _, reply in rows][:2] == [
        ("ok", "Paris is the capital."),
        ("ok", "Blue sky."),
    ]
    assert rows[2][1] == "error" and "Fail now." in rows[2][2]
    assert rows[0][0] == trace.id and logs.get(trace.id).responses[0].text == "Paris is the capital."
    with pytest.raises(logs.CallNotFound, match="Several logged calls have ids starting with"):
        logs.get(trace.id[:8])


def test_search_finds_yesterdays_call_by_a_word_of_its_reply(log_db: Path, server) -> None:
    server.script(Reply(text="The tides follow the moon."), Reply(text="Bread needs yeast."))
    ask("Why tides?")
    ask("Why bread?")
    found = logs.search("moon")
    assert [call.prompt.endswith("Why tides?") for call in found] == [True]
    assert found[0].trace.responses[0].text == "The tides follow the moon."


def test_prune_deletes_the_calls_before_a_moment_including_ones_still_queued(log_db: Path, server) -> None:
    server.script(Reply(text="first"), Reply(text="second"))
    ask("Earlier?")  # still queued for the writer when prune starts: written first, then deleted
    time.sleep(0.01)
    moment = datetime.now(timezone.utc)
    time.sleep(0.01)
    ask("Later?")
    assert logs.prune(moment) == 1
    assert logs.prune(moment - timedelta(days=1)) == 0
    assert [reply for *_, reply in _rows(log_db)] == ["second"]


def test_log_false_writes_nothing(log_db: Path, server) -> None:
    ask("Not logged.", log=False)
    alloy_nb.configure(log=False)
    ask("Not logged either.")
    assert not log_db.exists() or _rows(log_db) == []


def test_batch_items_are_logged_one_row_each(log_db: Path, server) -> None:
    result = ask.map(["one", "two", "three"], progress=False)
    ids = {row[0] for row in _rows(log_db)}
    assert {slot.trace.id for slot in result.items} <= ids and len(ids) == 3


def test_headers_and_credentials_never_reach_the_log(log_db: Path, server) -> None:
    host = server.url.replace("http://", "http://me:hunter2@")
    ask("Secret test.", host=host, headers={"Authorization": "Bearer sk-topsecret"})
    logs.flush()
    data = log_db.read_bytes() + b"".join(p.read_bytes() for p in log_db.parent.glob("calls.db-*"))
    assert b"hunter2" not in data and b"sk-topsecret" not in data
    assert oct(log_db.stat().st_mode & 0o777) == "0o600"
