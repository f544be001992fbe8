"""Memory: resident set size over 1,000 calls with traces kept, in fresh interpreters.

Each run makes 200 warm-up calls, then 1,000 calls and another 1,000 (a tool round trip each,
against the scripted server) and reads RSS before and after each batch. alloy_nb keeps a bounded history of traces
(`trace_history`, 100 by default), so the second thousand must not grow memory: that is the leak
check (goal: growth over the second 1,000 calls <= 1 MB). The same calls made directly with the
ollama SDK are the reference; a run with `trace_history=1000` shows what a kept trace costs.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

from bench.report import Row
from bench.servers import EMBEDDED_MODEL, serving
from bench.timing import Stats

BATCH = 1_000
LEAK_LIMIT_MB = 1.0
MODES = ("alloy_nb", "alloy_nb, trace_history=1000", "ollama SDK")


def resident_mb() -> float:
    """This process's resident set size in MB (current, not peak)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _worker(url: str, mode: str, batch: int) -> dict[str, float]:
    """Run in a fresh interpreter: RSS after warm-up and after each of two batches of calls."""
    from alloy_nb import ask
    from alloy_nb.logs import flush

    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    options = {"model": f"ollama:{EMBEDDED_MODEL}", "host": url, "api": "native"}
    if mode == "ollama SDK":
        import ollama

        client = ollama.Client(host=url)
        first, second = (event.body for event in ask.traced("Add 2 and 3.", tools=[add], **options).trace.requests)

        def call() -> object:
            client.chat(**first)
            return client.chat(**second).message.content
    else:
        history = 1000 if "1000" in mode else 100

        def call() -> object:
            return ask("Add 2 and 3.", tools=[add], trace_history=history, **options)

    def settled_mb() -> float:
        """RSS once the call log has written what is queued (a queue of up to a second of calls is
        transient, not kept) and garbage is collected."""
        flush()
        gc.collect()
        return resident_mb()

    for _ in range(200):
        call()
    readings = []
    for _ in range(2):
        readings.append(settled_mb())
        for _ in range(batch):
            call()
    readings.append(settled_mb())
    return {"warm": readings[0], "first": readings[1] - readings[0], "second": readings[2] - readings[1]}


def _measure(url: str, mode: str, batch: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", url, mode, str(batch)],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    return json.loads(done.stdout)


def run(quick: bool = False) -> list[Row]:
    batch, rounds = (200, 1) if quick else (BATCH, 3)
    results: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    with serving("scripted") as server:
        for _ in range(rounds):
            for mode in MODES:
                results[mode].append(_measure(server.url, mode, batch))
    reference = results["ollama SDK"]
    rows = []
    for mode in MODES[:2]:
        measured = results[mode]
        second = Stats.of([r["second"] for r in measured])
        row = Row(
            "memory",
            f"{mode}: RSS growth over calls {batch + 1}–{2 * batch}",
            "MB",
            second,
            "ollama SDK",
            Stats.of([r["second"] for r in reference]),
            goal=f"≤ {LEAK_LIMIT_MB:g} MB (no leak)" if mode == "alloy_nb" else "",
            met=second.median <= LEAK_LIMIT_MB if mode == "alloy_nb" else None,
        )
        row.notes[f"growth over calls 1–{batch} MB"] = Stats.of([r["first"] for r in measured]).median
        row.notes["RSS after warm-up MB"] = Stats.of([r["warm"] for r in measured]).median
        row.notes["reference RSS after warm-up MB"] = Stats.of([r["warm"] for r in reference]).median
        rows.append(row)
    return rows


if __name__ == "__main__":
    print(json.dumps(_worker(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
