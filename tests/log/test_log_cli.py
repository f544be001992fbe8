"""`alloy-nb logs`: the table, the filters and JSON lines, through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from log_helpers import make_trace

from alloy_nb._log.store import connect, insert_many, row_of
from alloy_nb.cli import main


@pytest.fixture
def logged(db: Path) -> Path:
    traces = [
        make_trace("What is the capital of France?\nAnswer briefly.", "Paris " + "very " * 30 + "long"),
        make_trace("Ping?", "pong", model="ollama:qwen3:0.6b"),
        make_trace("Divide by zero", error=ZeroDivisionError("division by zero")),
    ]
    for index, trace in enumerate(traces):
        trace.id = f"call{index}"
    with connect(db) as conn:
        insert_many(conn, [row_of(trace) for trace in traces])
    conn.close()
    return db


def test_the_table_shows_short_one_line_prompts_and_replies(logged: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", "--db", str(logged)]) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    assert header.split() == ["id", "time", "model", "status", "tokens", "prompt", "reply"]
    assert len(lines) == 3
    [paris] = [line for line in lines if line.startswith("call0")]
    assert "ollama:smollm2:135m" in paris and "12+5" in paris
    assert "Be brief. What is the capital of France? Answer briefly." in paris  # newlines flattened
    assert "Paris very very" in paris and paris.endswith("…") and "long" not in paris
    [failed] = [line for line in lines if line.startswith("call2")]
    assert "error" in failed and "ZeroDivisionError: division by zero" in failed


def test_filters_and_json_lines(logged: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", "--db", str(logged), "-q", "pong", "--json"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    call = json.loads(line)
    assert (call["id"], call["model"], call["reply"], call["tools"]) == ("call1", "ollama:qwen3:0.6b", "pong", [])
    assert "trace" not in call and "trace_json" not in call
    main(["logs", "--db", str(logged), "--status", "error", "--json"])
    assert [json.loads(x)["id"] for x in capsys.readouterr().out.splitlines()] == ["call2"]
    main(["logs", "--db", str(logged), "--model", "qwen3:0.6b", "--since", "1d", "-n", "5", "--json"])
    assert [json.loads(x)["id"] for x in capsys.readouterr().out.splitlines()] == ["call1"]
    main(["logs", "--db", str(logged), "-n", "1", "--json"])
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_nothing_found_and_bad_input_are_explained(logged: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", "--db", str(logged), "-q", 'no-such-word "(']) == 0
    assert "No logged calls match" in capsys.readouterr().err
    assert main(["logs", "--db", str(logged.with_name("none.db"))]) == 0
    assert "does not exist yet" in capsys.readouterr().err
    assert main(["logs", "--db", str(logged), "--since", "last week"]) == 2
    assert "alloy-nb: since='last week' is not a duration" in capsys.readouterr().err
    logged.with_name("junk.db").write_bytes(b"junk" * 2000)
    assert main(["logs", "--db", str(logged.with_name("junk.db"))]) == 1
    assert "cannot read the call log" in capsys.readouterr().err


def test_the_log_named_by_alloy_log_db_is_the_default(
    logged: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOY_LOG_DB", str(logged))
    assert main(["logs", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_prune_deletes_old_calls_and_says_how_many(logged: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with connect(logged) as conn:
        conn.execute("UPDATE calls SET time = '2020-01-01T00:00:00.000+00:00' WHERE id = 'call1'")
    conn.close()
    assert main(["logs", "--db", str(logged), "--prune", "30d", "--vacuum"]) == 0
    assert capsys.readouterr().out.strip() == f"Deleted 1 logged call older than 30d from {logged}."
    main(["logs", "--db", str(logged), "-n", "0", "--json"])
    assert sorted(json.loads(x)["id"] for x in capsys.readouterr().out.splitlines()) == ["call0", "call2"]


def test_prune_needs_a_duration_and_vacuum_needs_prune(logged: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", "--db", str(logged), "--prune", "soon"]) == 2
    assert "older_than='soon' is not a duration" in capsys.readouterr().err
    assert main(["logs", "--db", str(logged), "--vacuum"]) == 2
    assert "--vacuum goes with --prune" in capsys.readouterr().err
