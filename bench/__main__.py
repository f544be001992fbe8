"""`python -m bench`: every benchmark, each measuring alloy_nb and its reference interleaved in one run.

    python -m bench                      # all of them; table on stdout, JSON in test-artifacts/bench.json
    python -m bench overhead fanout      # some of them
    python -m bench --quick              # fewer rounds (a smoke run, figures are rough)
    python -m bench --doc docs/performance.md   # also rewrite the results table there
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from bench.report import Row, environment, table_lines, update_doc, write_json

BENCHMARKS = {
    "overhead": "bench.adapter_overhead",
    "alloy-ai": "bench.vs_alloy_ai",
    "fanout": "bench.async_fanout",
    "stream-view": "bench.stream_view",
    "startup": "bench.startup",
    "embedded": "bench.embedded_server",
    "memory": "bench.memory",
    "batch": "bench.batch",
    "call-log": "bench.call_log",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="alloy_nb benchmarks, side by side.")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="fewer rounds: checks that every benchmark runs")
    parser.add_argument("--json", type=Path, default=Path("test-artifacts/bench.json"), help="where to write the results")
    parser.add_argument("--doc", type=Path, help="a Markdown file whose results section to rewrite")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    rows: list[Row] = []
    failed: list[str] = []
    for name in args.names or list(BENCHMARKS):
        started = time.perf_counter()
        print(f"== {name}", file=sys.stderr, flush=True)
        try:
            produced = importlib.import_module(BENCHMARKS[name]).run(quick=args.quick)
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            failed.append(name)
            continue
        rows.extend(produced)
        print("\n".join(table_lines(produced)[2:]), f"\n   ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)

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


if __name__ == "__main__":
    sys.exit(main())
