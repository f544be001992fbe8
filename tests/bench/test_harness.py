"""The benchmark harness: statistics, interleaving, the results table, and a quick run of the entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.report import DOC_BEGIN, DOC_END, Row, environment, ratio_row, table_lines, update_doc
from bench.timing import Stats, interleaved

REPO = Path(__file__).resolve().parents[2]


def test_stats_median_quartiles_and_scaling() -> None:
    stats = Stats.of([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (stats.median, stats.q1, stats.q3, stats.low, stats.high, stats.n) == (3.0, 2.0, 4.0, 1.0, 5.0, 5)
    assert stats.relative_spread == pytest.approx(2 / 3)
    assert stats.scaled(1000).median == 3000.0
    with pytest.raises(ValueError):
        Stats.of([])


def test_interleaved_rotates_the_order_and_drops_warm_up_rounds() -> None:
    order: list[str] = []
    timings = interleaved({name: (lambda name=name: order.append(name)) for name in "abc"}, rounds=3, loops=2, warmup=1)
    assert {name: len(values) for name, values in timings.items()} == {"a": 3, "b": 3, "c": 3}
    rounds = [order[i : i + 6 : 2] for i in range(0, len(order), 6)]
    assert rounds == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]


def test_interleaved_runs_after_each_round_untimed() -> None:
    seen: list[str] = []
    timings = interleaved(
        {"slow": lambda: None}, rounds=2, loops=3, warmup=1, after=lambda name: time.sleep(0.05) or seen.append(name)
    )
    assert seen == ["slow"] * 3  # the warm-up round too
    assert max(timings["slow"]) < 0.01  # the 50 ms after each round is not in its timing


def test_ratio_row_pairs_rounds_and_checks_the_goal() -> None:
    row = ratio_row(
        "x", "case", "µs/call", [2.0, 3.0, 4.0], [1.0, 2.0, 4.0], "ref", scale=1e6, goal="ratio ≤ 1.5", limit=1.5
    )
    assert row.ratio is not None and row.ratio.median == 1.5 and row.met is True
    assert row.ours.median == 3e6
    faster = ratio_row("x", "tok/s", "tok/s", [90.0], [100.0], "ref", limit=0.95, higher_is_better=True)
    assert faster.met is False


def test_table_and_generated_doc_section(tmp_path: Path) -> None:
    row = Row("memory", "growth", "MB", Stats.of([0.5]), goal="≤ 1 MB", met=True, notes={"kept": "100 traces"})
    lines = table_lines([row])
    assert (
        lines[2].startswith("| memory | growth | MB | 0.5 ±0%")
        and "| yes |" in lines[2]
        and "kept 100 traces" in lines[2]
    )
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\n{DOC_BEGIN}\nold\n{DOC_END}\n\nHow to reproduce.\n")
    update_doc(doc, [row], environment())
    text = doc.read_text()
    assert "old" not in text and lines[2] in text and text.endswith(f"{DOC_END}\n\nHow to reproduce.\n")


def test_quick_run_writes_every_row_as_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    user_data = tmp_path / "user-data"  # where the user's own call log would be
    done = subprocess.run(
        [sys.executable, "-m", "bench", "overhead", "memory", "--quick", "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "XDG_DATA_HOME": str(user_data)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (user_data / "alloy_nb" / "calls.db").exists()  # the benchmarks' calls went to a scratch log
    rows = json.loads(out.read_text())["rows"]
    cases = {(row["benchmark"], row["case"]) for row in rows}
    assert ("overhead", "native: one tool round trip") in cases and ("overhead", "openai_chat: text") in cases
    assert any(benchmark == "memory" for benchmark, _ in cases)
    assert all(row["ours"]["n"] >= 1 for row in rows)
    for row in (r for r in rows if r["benchmark"] == "overhead"):
        assert row["ours"]["median"] > 0 and row["ratio"]["median"] > 0
        assert row["met"] in ((True, False) if row["goal"] else (None,))
    assert "| overhead | native: text |" in done.stdout


def test_unknown_benchmark_is_refused() -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "nope"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2 and "unknown benchmark(s) nope" in done.stderr
