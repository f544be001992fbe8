"""Start-up costs, each in fresh interpreters (child processes run in a rotating order over rounds):

  import      `import alloy_nb` (perf_counter around the import, in the child), and the child's
              whole wall time against `python -c pass`; the slowest modules from `-X importtime`;
  load_ext    `%load_ext alloy_nb` in a fresh IPython shell (only the magic is timed; it imports
              alloy_nb);
  first call  from before `from alloy_nb import ask` to the end of the first `ask("Hi")` on the
              scripted server, against the same first request made with the `ollama` SDK (native
              strategy) and with the `openai` SDK (openai_chat strategy), client creation included.

Goals: import and load_ext <= 150 ms each, and <= 150 ms of added interpreter wall time; the first
call is reported against the SDKs with the milliseconds it adds.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from collections.abc import Callable, Mapping

from bench.report import Row, ratio_row
from bench.servers import EMBEDDED_MODEL, serving
from bench.timing import Stats, interleaved

GOAL_MS = 150.0
WARMUP = 1
SLOWEST = 5
IMPORT_ALLOY = "import alloy_nb"
SHELL = "from IPython.core.interactiveshell import InteractiveShell\nshell = InteractiveShell.instance()"
LOAD_EXT = "shell.run_line_magic('load_ext', 'alloy_nb')"
MESSAGES = "[{'role': 'user', 'content': 'Hi'}]"
FIRST_CALLS = {
    "native": f"from alloy_nb import ask\nask('Hi', model='ollama:{EMBEDDED_MODEL}', api='native', host=url)",
    "ollama SDK": f"import ollama\nollama.Client(host=url).chat(model='{EMBEDDED_MODEL}', messages={MESSAGES})",
    "openai_chat": f"from alloy_nb import ask\nask('Hi', model='ollama:{EMBEDDED_MODEL}', api='openai_chat', host=url)",
    "openai SDK": (
        f"import openai\nopenai.OpenAI(base_url=url + '/v1', api_key='ollama')"
        f".chat.completions.create(model='{EMBEDDED_MODEL}', messages={MESSAGES})"
    ),
}
IMPORTTIME_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)")

Series = dict[str, list[float]]  # case -> one figure per round


def _timed(statements: str, setup: str = "") -> str:
    """A child script printing the seconds `statements` take (after `setup`, which is not timed)."""
    return (
        f"import sys, time\nurl = sys.argv[-1]\n{setup}\nstarted = time.perf_counter()\n{statements}\n"
        "print(time.perf_counter() - started)"
    )


def _scripts() -> dict[str, str]:
    return {
        "pass": "pass",
        "import": _timed(IMPORT_ALLOY),
        "load_ext": _timed(LOAD_EXT, SHELL),
        **{name: _timed(code) for name, code in FIRST_CALLS.items()},
    }


def _run_children(scripts: Mapping[str, str], url: str, rounds: int) -> tuple[Series, Series]:
    """Each script in a fresh interpreter once per round: wall seconds of the child, and the seconds it printed."""
    printed: Series = {name: [] for name in scripts}

    def child(name: str) -> Callable[[], None]:
        def call() -> None:
            out = subprocess.run([sys.executable, "-c", scripts[name], url], capture_output=True, text=True, check=True)
            if out.stdout.strip():
                printed[name].append(float(out.stdout))

        return call

    walls = interleaved({name: child(name) for name in scripts}, rounds=rounds, loops=1, warmup=WARMUP)
    return walls, {name: values[WARMUP:] for name, values in printed.items()}


def _slowest_imports(code: str, runs: int) -> str:
    """The modules loaded under alloy_nb that take longest (cumulative, median of `runs` `-X importtime` runs)."""
    cumulative: dict[str, list[float]] = {}
    for _ in range(runs):
        stderr = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
        ).stderr
        group: list[tuple[str, float]] = []
        for match in IMPORTTIME_LINE.finditer(stderr):
            microseconds, indent, module = match.groups()
            group.append((module, float(microseconds)))
            if len(indent) == 1:  # a top-level import comes after the imports it caused
                if module.startswith("alloy_nb"):
                    for name, value in group:
                        cumulative.setdefault(name, []).append(value)
                group = []
    medians = sorted(((statistics.median(values), name) for name, values in cumulative.items()), reverse=True)
    return ", ".join(f"{name} {value / 1000:.1f} ms" for value, name in medians[:SLOWEST])


def _import_rows(walls: Series, printed: Series, runs: int) -> list[Row]:
    imported = Stats.of(printed["import"]).scaled(1e3)
    inside = Row(
        "startup",
        "import alloy_nb (timed in the child)",
        "ms",
        imported,
        goal=f"≤ {GOAL_MS:g} ms",
        met=imported.median <= GOAL_MS,
    )
    inside.notes["slowest imports (cumulative)"] = _slowest_imports(IMPORT_ALLOY, runs)
    wall = ratio_row(
        "startup",
        "interpreter wall: -c 'import alloy_nb' vs -c pass",
        "ms",
        walls["import"],
        walls["pass"],
        "python -c pass",
        scale=1e3,
        goal=f"added ≤ {GOAL_MS:g} ms",
    )
    added = wall.ours.median - wall.reference.median  # type: ignore[union-attr]
    wall.notes["added ms"] = added
    wall.met = added <= GOAL_MS
    return [inside, wall]


def _load_ext_row(printed: Series, runs: int) -> Row:
    loaded = Stats.of(printed["load_ext"]).scaled(1e3)
    row = Row(
        "startup",
        "%load_ext alloy_nb in a fresh IPython shell",
        "ms",
        loaded,
        goal=f"≤ {GOAL_MS:g} ms",
        met=loaded.median <= GOAL_MS,
    )
    row.notes["slowest imports (cumulative)"] = _slowest_imports(f"{SHELL}\n{LOAD_EXT}", runs)
    return row


def _first_call_rows(printed: Series) -> list[Row]:
    rows = []
    for api, sdk in (("native", "ollama SDK"), ("openai_chat", "openai SDK")):
        row = ratio_row(
            "startup",
            f"first call incl. import and client ({api})",
            "ms",
            printed[api],
            printed[sdk],
            sdk,
            scale=1e3,
            goal="report",
        )
        row.notes["added ms"] = row.ours.median - row.reference.median  # type: ignore[union-attr]
        rows.append(row)
    return rows


def run(quick: bool = False) -> list[Row]:
    rounds = 3 if quick else 10
    importtime_runs = 1 if quick else 3
    with serving("scripted") as server:
        walls, printed = _run_children(_scripts(), server.url, rounds)
    return [
        *_import_rows(walls, printed, importtime_runs),
        _load_ext_row(printed, importtime_runs),
        *_first_call_rows(printed),
    ]
