"""Model text never drives the terminal: `alloy-nb logs` (a real subprocess), `%alloy log` and the
errors that quote a reply show control characters as visible stand-ins; bad search input is one
clear line; a log named by a `file:` URI is as private as one named by a path."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from log_helpers import make_trace

import alloy_nb
from alloy_nb import ask, logs
from alloy_nb._log.store import connect, insert_many, row_of, search
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply

# OSC 52 writes the clipboard, CSI 2J clears the screen, OSC 8 makes a link; C1 CSI (U+009B) and
# a bare carriage return overwrite what was shown.
HOSTILE = "\x9b31m\rok \x1b]52;c;ZXZpbA==\x07\x1b[2J\x1b]8;;https://evil.example\x1b\\here\x1b]8;;\x1b\\"
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
ALLOY_NB = Path(sys.executable).with_name("alloy-nb")


@pytest.fixture
def log_db(tmp_path: Path, alloy_at_server) -> Path:
    path = tmp_path / "calls.db"
    alloy_nb.configure(log_db=str(path))
    return path


def logs_command(*args: str | bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([ALLOY_NB, "logs", *args], capture_output=True, timeout=60, check=False)


def test_the_table_and_json_lines_show_control_characters_as_stand_ins(log_db: Path, server) -> None:
    server.script(Reply(text=HOSTILE))
    ask("Say " + HOSTILE[:12])
    logs.flush()
    table = logs_command("--db", str(log_db))
    assert table.returncode == 0, table.stderr
    shown = table.stdout.decode()
    assert not CONTROLS.search(shown)
    assert "<U+009B>31m ok ␛]52;c;ZXZpbA==␇␛[2J␛]8;;https://" in shown  # the reply on one line, made visible
    assert "Say <U+009B>31m ok ␛]5" in shown  # the prompt too
    lines = logs_command("--db", str(log_db), "--json")
    assert lines.returncode == 0 and not CONTROLS.search(lines.stdout.decode())
    [call] = [json.loads(line) for line in lines.stdout.decode().splitlines()]
    assert call["reply"] == HOSTILE  # JSON escapes keep the exact text


def test_percent_alloy_log_shows_stand_ins_in_text_and_html(shell: InteractiveShell, server, tmp_path: Path) -> None:
    alloy_nb.configure(log_db=str(tmp_path / "calls.db"))
    server.script(Reply(text=HOSTILE))
    assert shell.run_cell("%%alloy --no-stream\nAnything?").success
    shell.display_pub.outputs.clear()  # type: ignore[attr-defined]
    assert shell.run_cell("%alloy log").success
    [shown] = shell.display_pub.outputs  # type: ignore[attr-defined]
    assert not CONTROLS.search(shown["text/plain"]) and not CONTROLS.search(shown["text/html"])
    assert "␛]52;c;ZXZpbA==␇" in shown["text/plain"] and "␛]52;c;ZXZpbA==␇" in shown["text/html"]
    logged = logs.search()[0]
    assert logged.reply == HOSTILE  # the log keeps the text as it came
    assert not CONTROLS.search(str(logged.trace))  # the trace's text view (`%alloy log show`)


def test_errors_that_quote_the_server_or_the_model_show_stand_ins(alloy_at_server, server) -> None:
    server.script(Reply(status=400, error="bad request: " + HOSTILE))
    with pytest.raises(alloy_nb.ServerError) as failed:
        ask("Anything?", retry=1)
    assert not CONTROLS.search(str(failed.value)) and "␛]52;c;ZXZpbA==␇" in str(failed.value)
    looping = Reply(tool_calls=[Call("\x1b[2Jadd", {"a": 1, "b": 2})])
    server.script(looping, looping)
    with pytest.raises(alloy_nb.ToolLoopLimitExceeded) as limited:
        ask("Add.", max_tool_turns=1)
    assert not CONTROLS.search(str(limited.value)) and "␛[2Jadd" in str(limited.value)


def test_a_nul_in_the_query_and_a_duration_too_long_are_clear_value_errors(log_db: Path) -> None:
    connect(log_db).close()
    with pytest.raises(ValueError, match=r"query='a\\x00b' contains a NUL character"):
        logs.search("a\x00b")
    with pytest.raises(ValueError, match=r"since='800000d' reaches back before the year 1.*'3650d'"):
        logs.search(since="800000d")
    with pytest.raises(ValueError, match=r"since='9{400}w' reaches back before the year 1"):
        search(since="9" * 400 + "w", path=log_db)
    with pytest.raises(ValueError, match=r"older_than='800000d' reaches back before the year 1"):
        logs.prune("800000d")
    with pytest.raises(ValueError, match=r"model='\\udcff' is not valid text"):
        search(model="\udcff", path=log_db)


def test_the_command_line_says_what_is_wrong_in_one_line(log_db: Path) -> None:
    connect(log_db).close()
    for args, wrong in (
        (("--since", "800000d"), "since='800000d' reaches back before the year 1"),
        (("--prune", "800000d"), "older_than='800000d' reaches back before the year 1"),
        (("-q", b"caf\xff"), "query='caf\\udcff' is not valid text"),
    ):
        done = logs_command("--db", str(log_db), *args)
        [line] = done.stderr.decode().splitlines()
        assert done.returncode == 2 and line.startswith("alloy-nb: ") and wrong in line, done.stderr


def test_percent_alloy_log_refuses_bad_input_with_a_usage_error(
    shell: InteractiveShell, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alloy_nb.configure(log_db=str(tmp_path / "calls.db"))
    connect(tmp_path / "calls.db").close()
    assert not shell.run_cell("%alloy log --since 800000d").success
    shown = capsys.readouterr()
    assert "Traceback" not in shown.out + shown.err
    assert "UsageError: since='800000d' reaches back" in shown.out + shown.err
    with pytest.raises(UsageError, match=r"query='a\\x00b' contains a NUL character"):
        shell.run_line_magic("alloy", "log a\x00b")  # (a cell's source cannot hold a NUL)


@pytest.mark.parametrize("uri", ["file:{path}", "file://{path}?cache=private", "file:{path}?mode=rwc"])
def test_a_log_named_by_a_file_uri_is_private(tmp_path: Path, uri: str) -> None:
    path = tmp_path / "calls.db"
    with closing(connect(uri.format(path=path))) as conn:
        insert_many(conn, [row_of(make_trace())])  # the -wal and -shm files exist while it is open
        for name in ("calls.db", "calls.db-wal", "calls.db-shm"):
            assert oct(os.stat(tmp_path / name).st_mode & 0o777) == "0o600", name


def test_a_file_uri_in_a_new_directory_gets_a_private_one(tmp_path: Path) -> None:
    path = tmp_path / "new" / "calls.db"
    connect(f"file:{path}").close()
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_uri_log_written_by_real_calls_is_private(tmp_path: Path, alloy_at_server, server) -> None:
    path = tmp_path / "calls.db"
    alloy_nb.configure(log_db=f"file:{path}")
    server.script(Reply(text="Written."))
    ask("Write me.")
    logs.flush()
    assert [call.reply for call in logs.search()] == ["Written."]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_read_only_or_in_memory_uri_creates_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Exception, match="unable to open"):
        connect(f"file:{tmp_path / 'missing.db'}?mode=ro")
    connect("file:scratch?mode=memory").close()
    assert sorted(os.listdir(tmp_path)) == []
