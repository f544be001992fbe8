"""`python -m bench`: every benchmark, each measuring alloy_nb and its reference interleaved in one run.

python -m bench                      # all of them; table on stdout, JSON in test-artifacts/bench.json
python -m bench overhead fanout      # some of them
python -m bench --quick              # fewer rounds (a smoke run, figures are rough)
python -m bench --doc docs/performance.md   # also rewrite the results table there
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from alloy_nb.logs import flush
from bench.report import Row, environment, table_lines, update_doc, write_json

BENCHMARKS = {
    "overhead": "bench.adapter_overhead",
    "instructions": "bench.instructions",
    "alloy-ai": "bench.vs_alloy_ai",
    "fanout": "bench.async_fanout",
    "stream-view": "bench.stream_view",
    "stream-tools": "bench.stream_tools",
    "stream-typed": "bench.stream_typed",
    "startup": "bench.startup",
    "embedded": "bench.embedded_server",
    "memory": "bench.memory",
    "batch": "bench.batch",
    "call-log": "bench.call_log",
    "logprobs": "bench.logprobs",
    "embed": "bench.embeddings",
    "token-view": "bench.token_view",
    "otel": "bench.otel_overhead",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="alloy_nb benchmarks, side by side.")
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds: checks that every benchmark runs")
    parser.add_argument(
        "--json", type=Path, default=Path("test-artifacts/bench.json"), help="where to write the results"
    )
    parser.add_argument("--doc", type=Path, help="a Markdown file whose results section to rewrite")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    with tempfile.TemporaryDirectory(prefix="alloy-nb-bench-") as scratch:
        # the benchmarks' calls (theirs and their child processes') never reach the user's own call log
        os.environ["ALLOY_LOG_DB"] = str(Path(scratch) / "calls.db")
        rows, failed = _run_all(args.names or list(BENCHMARKS), quick=args.quick)
        flush()  # the last rows are written before the scratch directory goes

    meta = environment()
    print("\n".join(table_lines(rows)))
    write_json(args.json, rows, meta)
    if args.doc:
        update_doc(args.doc, rows, meta)
    missed = [f"{row.benchmark}/{row.case}" for row in rows if row.met is False]
    if missed:
        print(f"\ngoals missed: {', '.join(missed)}")
    if failed:
        print(f"\nbenchmarks that failed to run: {', '.join(failed)}")
    return 1 if failed else 0


def _run_all(names: list[str], *, quick: bool) -> tuple[list[Row], list[str]]:
    """Run the named benchmarks one after another; a failing one is reported, the rest still run."""
    rows: list[Row] = []
    failed: list[str] = []
    for name in names:
        started = time.perf_counter()
        print(f"== {name}", file=sys.stderr, flush=True)
        try:
            produced = importlib.import_module(BENCHMARKS[name]).run(quick=quick)
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            failed.append(name)
            continue
        rows.extend(produced)
        print(
            "\n".join(table_lines(produced)[2:]),
            f"\n   ({time.perf_counter() - started:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
    return rows, failed


if __name__ == "__main__":
    sys.exit(main())
