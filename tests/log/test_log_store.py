"""Rows, full-text search, filters and lookups by id, on real SQLite files."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from log_helpers import make_trace

import alloy_nb
from alloy_nb._log import CallNotFound, LoggedCall, get, prune, search
from alloy_nb._log.schema import SCHEMA_VERSION
from alloy_nb._log.store import _redacted, connect, insert_many, row_of
from alloy_nb._messages import AssistantMessage, UserMessage
from alloy_nb._trace import RequestEvent, ResponseEvent, Trace
from alloy_nb.testing import ScriptedTurn


def log(db: Path, *traces: Trace, notebook: str | None = None) -> None:
    with connect(db) as conn:
        insert_many(conn, [row_of(trace, notebook=notebook) for trace in traces])
    conn.close()


def same(a: Trace, b: Trace) -> bool:
    """Equal as data (the clock a live trace keeps is not part of it)."""
    return a.to_dict() == b.to_dict()


def hours_ago(hours: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(hours=hours)).isoformat(timespec="milliseconds")


def test_a_row_holds_the_prompt_reply_tokens_and_whole_trace() -> None:
    trace = make_trace("Capital of France?", "Paris.", tools=["lookup"])
    trace.responses[0].thinking = "France... Paris"
    row = row_of(trace, notebook="work/a.ipynb", cell="3")
    assert row["prompt"] == "Be brief.\n\nCapital of France?"
    assert row["reply"] == "Paris."
    assert row["thinking"] == "France... Paris"
    assert (row["prompt_tokens"], row["completion_tokens"]) == (12, 5)
    assert json.loads(row["tools"]) == ["lookup"]
    assert (row["notebook"], row["cell"], row["error"]) == ("work/a.ipynb", "3", None)
    assert row["time"].endswith("+00:00") and row["time"] == datetime.fromisoformat(trace.started_at).isoformat(
        timespec="milliseconds"
    )
    assert same(Trace.from_json(row["trace"]), trace)


def test_a_typed_result_is_logged_as_json_and_an_error_with_its_type() -> None:
    assert json.loads(row_of(make_trace(result={"city": "Paris"}, output_type="City"))["reply"]) == {"city": "Paris"}
    failed = row_of(make_trace(reply="half an ans", error=TimeoutError("took too long")))
    assert failed["status"] == "error"
    assert failed["error"] == "TimeoutError: took too long"
    assert failed["reply"] == "half an ans"  # no result: the last reply's text


def test_the_prompt_column_holds_the_system_and_user_texts_never_the_replies() -> None:
    trace = Trace(model="ollama:gpt-oss:20b", strategy="openai_chat", host="http://127.0.0.1:11434")
    parts = [{"type": "text", "text": "Describe this"}, {"type": "image_url", "image_url": {"url": "data:..."}}]
    body = {"messages": [{"role": "user", "content": parts}]}
    messages = [
        UserMessage(text="Hello"),
        AssistantMessage(text="earlier"),
        UserMessage(text="Describe this", images=(0,)),
    ]
    trace.add(RequestEvent(turn=0, endpoint="POST /v1/chat/completions", url="", messages=messages, body=body))
    trace.add(ResponseEvent(turn=0, text="A cat."))
    assert row_of(trace)["prompt"] == "Hello\n\nDescribe this"


def test_credentials_are_redacted_from_every_column() -> None:
    trace = make_trace("my key is api_key=sk-live-123", host="https://ann:hunter2@gpu.example.com:11434")
    trace.requests[0].body["headers_echo"] = {"Authorization": "Bearer sk-abc", "X-Api-Key": "k-9"}
    row = row_of(trace)
    assert row["host"] == "https://[redacted]@gpu.example.com:11434"
    assert "api_key=[redacted]" in row["prompt"]
    for secret in ("hunter2", "sk-live-123", "sk-abc", "k-9"):
        assert secret not in row["trace"] and secret not in row["prompt"]
    assert Trace.from_json(row["trace"]).requests[0].body["headers_echo"]["Authorization"] == "[redacted]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://user:pa:ss@h:1/x", "http://[redacted]@h:1/x"),
        ("http://127.0.0.1:11434", "http://127.0.0.1:11434"),
        ("contact me@example.com", "contact me@example.com"),
        ('{"authorization": "Basic dXNlcjpwdw=="}', '{"authorization": "[redacted]"}'),
        ('{"api-key": "with \\"escaped\\" quotes"}', '{"api-key": "[redacted]"}'),
        ("Authorization: Bearer eyJhbGciOi", "Authorization: Bearer [redacted]"),
        ("https://h/v1?api_key=abc&x=1", "https://h/v1?api_key=[redacted]&x=1"),
        ('"q": "set API_KEY=\\"sk-9\\" first"', '"q": "set API_KEY=\\"[redacted]\\" first"'),
        ("the api_key parameter is optional", "the api_key parameter is optional"),
    ],
)
def test_redacted(text: str, expected: str) -> None:
    assert _redacted(text) == expected


def test_redacted_json_stays_json() -> None:
    doc = {"a": 'Authorization: Bearer x"y', "api_key": "z\\w", "url": "http://u:p@h"}
    assert json.loads(_redacted(json.dumps(doc))) == {
        "a": 'Authorization: Bearer [redacted]"y',
        "api_key": "[redacted]",
        "url": "http://[redacted]@h",
    }


def test_a_word_in_a_reply_or_prompt_finds_the_call(db: Path) -> None:
    paris, tokyo = make_trace("France?", "Paris, of course"), make_trace("Japan?", "Tokyo is the capital")
    log(db, paris, tokyo)
    assert [c.id for c in search("paris", path=db)] == [paris.id]
    assert [c.id for c in search("japan", path=db)] == [tokyo.id]
    assert [c.id for c in search("capital", path=db)] == [tokyo.id]
    assert [c.id for c in search("tok*", path=db)] == [tokyo.id]
    assert {c.id for c in search("brief", path=db)} == {paris.id, tokyo.id}  # the system message is in the prompt
    assert search("paris tokyo", path=db) == []  # every word must be there


@pytest.mark.parametrize(
    "query", ['"', "(", ")", "a AND", "NOT", "c++", "*", "x:y", "it's", "-1", "^", "{a b}", 'foo" OR "', "NEAR(a b"]
)
def test_punctuation_in_a_query_does_not_crash(db: Path, query: str) -> None:
    log(db, make_trace("c++ templates", "it's fine"))
    assert isinstance(search(query, path=db), list)


def test_filters_by_model_status_and_time(db: Path) -> None:
    old = make_trace(started_at=hours_ago(50))
    recent = make_trace(model="ollama:qwen3:0.6b", started_at=hours_ago(2))
    failed = make_trace(error=ValueError("bad"), started_at=hours_ago(0.1))
    log(db, old, recent, failed)
    assert [c.id for c in search(path=db)] == [failed.id, recent.id, old.id]  # newest first
    assert [c.id for c in search(model="qwen3:0.6b", path=db)] == [recent.id]
    assert [c.id for c in search(model="ollama:qwen3:0.6b", path=db)] == [recent.id]
    assert [c.id for c in search(status="error", path=db)] == [failed.id]
    assert [c.id for c in search(since="1d", path=db)] == [failed.id, recent.id]
    assert [c.id for c in search(since="30m", path=db)] == [failed.id]
    assert [c.id for c in search(since="3w", path=db)] == [failed.id, recent.id, old.id]
    assert [c.id for c in search(since=timedelta(hours=3), status="ok", path=db)] == [recent.id]
    since = datetime.now(timezone.utc) - timedelta(hours=60)
    assert [c.id for c in search(since=since, model="smollm2:135m", path=db)] == [failed.id, old.id]
    assert [c.id for c in search(n=2, path=db)] == [failed.id, recent.id]
    assert len(search(n=0, path=db)) == 3


def test_a_bad_since_says_what_is_expected(db: Path) -> None:
    log(db, make_trace())
    with pytest.raises(ValueError, match=r"since='yesterday' is not a duration.*'30m', '3h', '1d'"):
        search(since="yesterday", path=db)


def test_a_logged_call_has_its_columns_and_reads_its_trace_lazily(db: Path) -> None:
    trace = make_trace(tools=["add"])
    log(db, trace, notebook="n.ipynb")
    [call] = search(path=db)
    assert isinstance(call, LoggedCall)
    assert (call.model, call.status, call.tools, call.notebook) == ("ollama:smollm2:135m", "ok", ("add",), "n.ipynb")
    assert "trace_json" not in repr(call) and "trace" not in call.__dict__
    assert same(call.trace, trace) and call.trace is call.trace


def test_get_by_id_or_unique_prefix(db: Path) -> None:
    first, second = make_trace(), make_trace()
    first.id, second.id = "abc123", "abd456"
    log(db, first, second)
    assert same(get("abc123", path=db), first)
    assert same(get("abd", path=db), second)
    with pytest.raises(
        CallNotFound, match=r"Several logged calls have ids starting with 'ab' \(.*abc123.*\); give more"
    ):
        get("ab", path=db)
    with pytest.raises(KeyError) as missing:
        get("zzz", path=db)
    assert str(missing.value).startswith("No call with id 'zzz'") and "alloy-nb logs" in str(missing.value)
    with pytest.raises(CallNotFound, match="No call log at"):
        get("abc", path=db.with_name("other.db"))


def test_search_of_a_log_not_written_yet_is_empty_and_creates_nothing(db: Path) -> None:
    assert search("x", path=db) == []
    assert not db.exists()


def test_replacing_a_row_keeps_the_search_index_right(db: Path) -> None:
    trace = make_trace("a question", "alpha")
    log(db, trace)
    trace.result = "omega"
    log(db, trace)
    assert search("alpha", path=db) == [] and len(search("omega", path=db)) == 1
    with connect(db) as conn:
        conn.execute("INSERT INTO calls_fts (calls_fts, rank) VALUES ('integrity-check', 1)")  # against the calls table
        assert conn.execute("SELECT count(*) FROM calls").fetchone() == (1,)
    conn.close()


def test_prune_deletes_only_older_calls_and_their_words(db: Path) -> None:
    old = make_trace("an old question", "ancient", started_at=hours_ago(24 * 40))
    month = make_trace("a month ago", "monthly", started_at=hours_ago(24 * 29))
    fresh = make_trace("today", "current", started_at=hours_ago(1))
    log(db, old, month, fresh)
    assert prune("30d", db) == 1
    assert [c.id for c in search(n=0, path=db)] == [fresh.id, month.id]
    assert search("ancient", path=db) == [] and len(search("monthly", path=db)) == 1  # the index lost its words
    assert prune(timedelta(hours=2), db) == 1 and [c.id for c in search(n=0, path=db)] == [fresh.id]
    assert prune("30d", db) == 0
    with connect(db) as conn:
        conn.execute("INSERT INTO calls_fts (calls_fts, rank) VALUES ('integrity-check', 1)")  # against the calls table
    conn.close()


def test_prune_with_vacuum_gives_the_space_back(db: Path) -> None:
    log(db, *(make_trace("question", "x" * 20_000, started_at=hours_ago(48)) for _ in range(50)))
    with connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    full = db.stat().st_size
    assert prune("1d", db, vacuum=True) == 50
    assert db.stat().st_size < full / 4
    assert search(n=0, path=db) == []


def test_prune_of_a_log_not_written_yet_deletes_nothing_and_creates_nothing(db: Path) -> None:
    assert prune("1d", db) == 0 and not db.exists()
    with pytest.raises(ValueError, match=r"older_than='old' is not a duration"):
        log(db, make_trace())
        prune("old", db)


def test_the_files_are_private_and_the_schema_versioned(db: Path) -> None:
    conn = connect(db)
    insert_many(conn, [row_of(make_trace())])
    assert oct(db.parent.stat().st_mode & 0o777) == "0o700"
    for name in ("calls.db", "calls.db-wal", "calls.db-shm"):
        assert oct(os.stat(db.parent / name).st_mode & 0o777) == "0o600", name
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(
        sqlite3.DatabaseError, match=f"schema version 99, newer than this alloy_nb.s {SCHEMA_VERSION}; upgrade"
    ):
        connect(db)


def test_a_real_call_is_logged_and_found(alloy_at_server, db: Path) -> None:
    alloy_at_server.script(ScriptedTurn(text="Bonjour <b>Paris</b>", thinking="they want French"))
    value, trace = alloy_nb.ask.traced("Say hello to Paris", model="ollama:qwen3:0.6b", think=True)
    log(db, trace)
    [call] = search("bonjour", path=db)
    assert call.prompt.endswith("Say hello to Paris") and call.reply == value
    assert call.thinking == "they want French" and call.host == alloy_at_server.url
    assert same(get(call.id[:10], path=db), trace)
