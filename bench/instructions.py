"""Instructions per native text call, counted by valgrind: `ask()` (with and without the call log)
against the ollama SDK's `chat` with the same request body, on the scripted server.

Wall-clock ratios on a shared two-core VM move by ±0.06 between runs of the same code; an
instruction count moves by about 1.5%, so this is the figure to compare two versions by. It counts the client
process only (every thread: the call log's writer too), each figure the difference between a run
of 200 warm-up calls and one of 200 + N, so start-up and imports cancel out.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile

from bench.report import Row
from bench.servers import serving
from bench.timing import Stats

VALGRIND = ("valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null")
CASES = (("ask", "ask() (call log on)"), ("ask-log-off", "ask(log=False)"))


def _instructions(url: str, case: str, calls: int, log_db: str) -> int:
    """Instructions the client process executed (valgrind's `I refs`). Its environment is the same
    few variables on every machine: alloy_nb reads the environment on each call, at a cost per variable."""
    done = subprocess.run(
        [*VALGRIND, sys.executable, "-m", "bench.count_client", url, case, str(calls)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin", "HOME": os.path.dirname(log_db), "ALLOY_LOG_DB": log_db},
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise RuntimeError(f"valgrind printed no instruction count:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def _per_call(url: str, case: str, calls: int, log_db: str) -> float:
    return (_instructions(url, case, calls, log_db) - _instructions(url, case, 0, log_db)) / calls


def run(quick: bool = False) -> list[Row]:
    if shutil.which("valgrind") is None:
        raise RuntimeError("valgrind is not installed (apt-get install valgrind): it counts the instructions")
    calls = 100 if quick else 1000
    with serving("scripted") as server, tempfile.TemporaryDirectory(prefix="alloy-nb-count-") as scratch:
        log_db = os.path.join(scratch, "calls.db")
        sdk = _per_call(server.url, "sdk", calls, log_db)
        rows = []
        for case, label in CASES:
            ours = _per_call(server.url, case, calls, log_db)
            rows.append(
                Row(
                    "instructions",
                    f"native: text, {label}",
                    "k instructions/call",
                    Stats.of([ours / 1000]),
                    "ollama SDK",
                    Stats.of([sdk / 1000]),
                    Stats.of([ours / sdk]),
                    notes={"added k instructions/call": round((ours - sdk) / 1000, 1)},
                )
            )
    return rows
