"""The background writer: batches off the caller's thread, bounded memory, one warning for a log
that cannot be written, and nothing lost to a second process or (beyond a second) to `kill -9`."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import closing, contextmanager
from functools import partial
from pathlib import Path

from log_helpers import make_trace

from alloy_nb._log import AlloyLogWarning, LogWriter, search
from alloy_nb._log.store import connect, insert_many, row_of

WORKER = Path(__file__).with_name("log_worker.py")


@contextmanager
def log_warnings() -> Iterator[list[str]]:
    """The AlloyLogWarning messages raised inside the block, by any thread."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield messages
        messages += [str(w.message) for w in caught if issubclass(w.category, AlloyLogWarning)]


def count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        rows: int = conn.execute("SELECT count(*) FROM calls").fetchone()[0]
    conn.close()
    return rows


def test_submitted_calls_are_written_on_flush(db: Path) -> None:
    writer = LogWriter(db)
    traces = [make_trace(f"question {i}", f"answer {i}") for i in range(3)]
    for trace in traces:
        writer.submit(trace, notebook="a.ipynb", cell="7")
    assert writer.flush(5)
    assert (writer.written, writer.dropped) == (3, 0)
    assert {c.id for c in search(path=db)} == {t.id for t in traces}
    assert search("answer 1", path=db)[0].cell == "7"
    writer.close()


def test_submit_returns_at_once_even_for_a_huge_trace(db: Path) -> None:
    writer = LogWriter(db)
    huge = make_trace("big", "x" * 5_000_000, max_chars=10_000_000)
    writer.submit(make_trace())
    started = time.perf_counter()
    writer.submit(huge)  # the 5 MB of JSON are made on the writer thread
    assert time.perf_counter() - started < 0.005
    assert writer.flush(10) and len(search("big", path=db)[0].reply) == 5_000_000
    writer.close()


def test_calls_are_written_within_a_second_without_flush(db: Path) -> None:
    writer = LogWriter(db)
    writer.submit(make_trace())
    time.sleep(1.6)
    assert count(db) == 1
    writer.close()


def test_over_the_cap_the_oldest_calls_are_dropped_and_counted(db: Path) -> None:
    writer = LogWriter(db, max_pending=5)
    traces = [make_trace(f"q{i}") for i in range(20)]
    for trace in traces:  # all queued long before the writer's first round, a second after it started
        writer.submit(trace)
    assert writer.flush(5)
    assert (writer.written, writer.dropped) == (5, 15)
    assert {c.id for c in search(path=db)} == {t.id for t in traces[-5:]}
    writer.close()


def test_after_close_calls_are_not_logged_and_nothing_raises(db: Path) -> None:
    writer = LogWriter(db)
    writer.submit(make_trace())
    writer.close()
    writer.submit(make_trace())
    assert writer.flush(1) and (writer.written, writer.dropped) == (1, 1)
    assert count(db) == 1


def assert_one_warning(messages: list[str], db: Path | str, happened: str) -> None:
    assert len(messages) == 1, messages
    [message] = messages
    assert happened in message and str(db) in message
    assert "configure(log_db=" in message and "ALLOY_LOG=0" in message


def test_a_read_only_log_warns_once_and_calls_go_on(db: Path) -> None:
    with connect(db) as conn:
        insert_many(conn, [row_of(make_trace())])
    conn.close()
    if os.geteuid() == 0:  # root writes through any file mode: open it read-only the SQLite way
        target: Path | str = f"file:{db}?mode=ro"
    else:
        db.chmod(0o400)
        db.parent.chmod(0o500)
        target = db
    with log_warnings() as messages:
        writer = LogWriter(target)
        for _ in range(2):
            writer.submit(make_trace())
            assert writer.flush(5)
        writer.submit(make_trace())
        writer.close()
    db.parent.chmod(0o700)
    assert_one_warning(messages, target, "read-only" if os.geteuid() == 0 else "")
    assert (writer.written, writer.dropped) == (0, 3)
    assert count(db) == 1


def tiny(path: object) -> sqlite3.Connection:
    """The log opened with no room to grow: writes fail with SQLite's real SQLITE_FULL."""
    conn = connect(path)  # type: ignore[arg-type]
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    return conn


def test_a_full_log_warns_once_and_calls_go_on(db: Path) -> None:
    with log_warnings() as messages:
        writer = LogWriter(db, connect=tiny)
        for i in range(3):
            writer.submit(make_trace("q", "reply " * 2000 + str(i)))
            assert writer.flush(5)
        writer.close()
    assert_one_warning(messages, db, "is full")
    assert "database or disk is full" in messages[0]
    assert (writer.written, writer.dropped) == (0, 3)


def test_a_corrupt_log_warns_once_and_a_new_file_is_used_when_it_is_replaced(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not SQLite\x00" * 500)
    with log_warnings() as messages:
        writer = LogWriter(db)
        writer.submit(make_trace())
        assert writer.flush(5)
        writer.submit(make_trace())
        assert writer.flush(5)
        db.unlink()  # the user moves the broken file away: the thread is still there to log
        writer.submit(make_trace())
        assert writer.flush(5)
        writer.close()
    assert_one_warning(messages, db, "not a SQLite database")
    assert "file is not a database" in messages[0]
    assert (writer.written, writer.dropped) == (1, 2)
    assert count(db) == 1


def test_a_locked_log_keeps_the_calls_and_writes_them_once_free(db: Path) -> None:
    blocker = connect(db)
    blocker.execute("BEGIN EXCLUSIVE")
    with log_warnings() as messages:
        writer = LogWriter(db, connect=partial(connect, busy_timeout_s=0.1))
        writer.submit(make_trace())
        assert not writer.flush(1.5)  # still queued
        started = time.perf_counter()
        writer.submit(make_trace())  # never waits for the lock
        assert time.perf_counter() - started < 0.01
        blocker.execute("ROLLBACK")
        assert writer.flush(5)
        writer.close()
    blocker.close()
    assert_one_warning(messages, db, "locked")
    assert "kept and tried again" in messages[0]
    assert (writer.written, writer.dropped) == (2, 0)
    assert count(db) == 2


def test_rows_kept_while_locked_are_bounded_in_bytes_oldest_first(db: Path) -> None:
    blocker = connect(db)
    blocker.execute("BEGIN EXCLUSIVE")
    with log_warnings():
        writer = LogWriter(db, max_kept_bytes=150_000, connect=partial(connect, busy_timeout_s=0.05))
        for number in range(10):
            writer.submit(make_trace(f"call {number}", "x" * 20_000))  # each row holds about 60 kB
        assert not writer.flush(1.5)  # the rows are built, kept, and over the budget
        blocker.execute("ROLLBACK")
        assert writer.flush(5)
        writer.close()
    blocker.close()
    assert (writer.written, writer.dropped) == (2, 8)
    with closing(connect(db)) as conn:  # the newest calls are the ones kept
        assert {row[0].split()[-1] for row in conn.execute("SELECT prompt FROM calls")} == {"8", "9"}


def test_two_processes_writing_at_once_lose_nothing(db: Path) -> None:
    workers = [
        subprocess.Popen([sys.executable, str(WORKER), str(db), "300", "0.003"], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=60)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0]
    assert [output.splitlines()[-1] for output in outputs] == ["closed 300", "closed 300"]
    assert count(db) == 600


def test_kill_9_loses_at_most_the_last_second(db: Path) -> None:
    worker = subprocess.Popen([sys.executable, str(WORKER), str(db), "0", "0.01"], stdout=subprocess.PIPE, text=True)
    assert worker.stdout is not None
    assert worker.stdout.readline().startswith("submitted 1 ")  # imports done, logging
    time.sleep(2.5)
    worker.send_signal(signal.SIGKILL)
    output = worker.communicate(timeout=10)[0]
    submitted, written = map(int, re.findall(r"^submitted (\d+) written (\d+)$", output, re.MULTILINE)[-1])
    found = count(db)
    assert written > 0 and found >= written  # every call reported committed survived
    assert found >= submitted - 130, (submitted, written, found)  # 1 s of calls is about 100
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_calls_still_queued_at_exit_are_written(db: Path) -> None:
    script = (
        "import sys; sys.path.insert(0, sys.argv[2]); from log_helpers import make_trace; "
        "from alloy_nb._log import LogWriter; w = LogWriter(sys.argv[1]); [w.submit(make_trace()) for _ in range(3)]"
    )
    subprocess.run([sys.executable, "-c", script, str(db), str(WORKER.parent)], check=True, timeout=60)
    assert count(db) == 3


def test_warnings_made_errors_do_not_stop_the_writer(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"garbage" * 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        writer = LogWriter(db)
        writer.submit(make_trace())
        assert writer.flush(5)
        db.unlink()
        writer.submit(make_trace())
        assert writer.flush(5)
        writer.close()
    assert (writer.written, writer.dropped) == (1, 1)
