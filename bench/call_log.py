"""The call log's cost: `ask()` with logging on vs off, and memory over 10,000 logged calls.

Against `alloy-nb serve --engine scripted` in another process. Cases:
  overhead  one `ask()` with the call log on (a fresh SQLite file) vs off, interleaved, in this
            process. Goal: <= 1.03x the median.
  memory    a fresh interpreter makes 2,000 warm-up calls, then 8,000 more with logging on, and
            reads its RSS before and after (the writer drains its queue every second, so memory
            must stay flat). Goal: growth <= 2 MB; the rows written are counted too.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.memory import resident_mb
from bench.report import Row, ratio_row
from bench.servers import EMBEDDED_MODEL, serving
from bench.timing import Stats, interleaved

OVERHEAD_GOAL = 1.03
MEMORY_GOAL_MB = 2.0
MODEL = f"ollama:{EMBEDDED_MODEL}"


def _overhead_row(url: str, rounds: int, loops: int) -> Row:
    from alloy_nb import ask, logs

    db = str(Path(tempfile.mkdtemp()) / "calls.db")
    timings = interleaved(
        {
            "on": lambda: ask("Hi", model=MODEL, host=url, log_db=db),
            "off": lambda: ask("Hi", model=MODEL, host=url, log=False),
        },
        rounds=rounds,
        loops=loops,
    )
    logs.flush()
    return ratio_row(
        "call-log",
        "ask() with the call log on vs off",
        "µs",
        timings["on"],
        timings["off"],
        "log off",
        scale=1e6,
        goal=f"ratio ≤ {OVERHEAD_GOAL}",
        limit=OVERHEAD_GOAL,
    )


def _worker(url: str, warm: int, calls: int) -> dict[str, float]:
    """In a fresh interpreter: RSS after `warm` logged calls and after `calls` more; rows written."""
    import sqlite3

    from alloy_nb import ask, logs

    db = str(Path(tempfile.mkdtemp()) / "calls.db")
    for _ in range(warm):
        ask("Hi", model=MODEL, host=url, log_db=db)
    logs.flush()
    gc.collect()
    before = resident_mb()
    for _ in range(calls):
        ask("Hi", model=MODEL, host=url, log_db=db)
    logs.flush()
    gc.collect()
    after = resident_mb()
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT count(*) FROM calls").fetchone()[0]
    return {"before": before, "growth": after - before, "rows": rows}


def _memory_row(url: str, rounds: int, warm: int, calls: int) -> Row:
    runs = []
    for _ in range(rounds):
        done = subprocess.run(
            [sys.executable, "-m", "bench.call_log", url, str(warm), str(calls)],
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        )
        runs.append(json.loads(done.stdout))
    growth = Stats.of([run["growth"] for run in runs])
    row = Row(
        "call-log",
        f"RSS growth over logged calls {warm + 1:,}–{warm + calls:,}",
        "MB",
        growth,
        goal=f"≤ {MEMORY_GOAL_MB:g} MB (flat)",
        met=growth.median <= MEMORY_GOAL_MB,
    )
    row.notes["RSS before MB"] = Stats.of([run["before"] for run in runs]).median
    row.notes["rows written / calls"] = f"{min(run['rows'] for run in runs):,} / {warm + calls:,}"
    return row


def run(quick: bool = False) -> list[Row]:
    rounds, loops, warm, calls = (2, 50, 200, 800) if quick else (31, 50, 2_000, 8_000)  # many short rounds: noisy box
    with serving("scripted") as server:
        return [_overhead_row(server.url, rounds, loops), _memory_row(server.url, 1 if quick else 2, warm, calls)]


if __name__ == "__main__":
    print(json.dumps(_worker(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
