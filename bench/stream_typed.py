"""A typed `%%alloy -o T` cell streamed in a real Jupyter kernel, against the same reply as a text cell.

One scripted reply, a JSON catalogue of TOKENS pieces (`{"name": `, `"w12", `, `"qty": `, `3}, `, ...),
arrives at TOKEN_S a piece from a scripted server in this process; one kernel runs it as a cell two
ways on every strategy (`%%alloy --api`), in a rotating order, over several rounds:
  text   `%%alloy`: the reply rendered as Markdown as it grows (the plain text view);
  typed  `%%alloy -o Catalog`: the value so far (pydantic's partial validation), rendered as escaped
         JSON as it grows, then the validated value.
Measured: the kernel main thread's CPU (`time.thread_time()`) per cell. Goal: typed <= 1.5x text, on
each strategy (each reads its own stream: native chunks, /v1 deltas, Responses semantic events).
The value so far is parsed once per render, and renders come at a bounded rate, so the typed cell
costs what the text cell does: parsing on every piece would re-read the whole text each time.
"""

from __future__ import annotations

import json

from jupyter_client.blocking.client import BlockingKernelClient

from alloy_nb._choices import STRATEGIES
from alloy_nb.testing import ScriptedEngine, ScriptedTurn, ServerThread
from bench.kernel import execute, kernel
from bench.report import Row, ratio_row

TOKENS = 2_000
TOKEN_S = 0.002  # 500 pieces a second: faster than the embedded model, so renders keep up with a busy stream
MODES = ("text", "typed")
CASES = [(api, mode) for api in STRATEGIES for mode in MODES]
GOAL = 1.5

KERNEL_SETUP = """
import json, time
import alloy_nb
from pydantic import BaseModel

class Item(BaseModel):
    name: str
    qty: int

class Catalog(BaseModel):
    items: list[Item]

get_ipython().run_line_magic("load_ext", "alloy_nb")

def measure(api, mode, url):
    alloy_nb.configure(host=url)
    line = f"--api {api}" + (" -o Catalog" if mode == "typed" else "")
    cpu, wall = time.thread_time(), time.monotonic()
    get_ipython().run_cell_magic("alloy", line, "Go.")
    assert _alloy is not None
    print(json.dumps({"cpu": time.thread_time() - cpu, "wall": time.monotonic() - wall}))
"""


def catalog_pieces(tokens: int) -> list[str]:
    """A JSON catalogue of `tokens` pieces, four to an item."""
    items = []
    for index in range(tokens // 4):
        items += ['{"name": ', f'"w{index}", ', '"qty": ', f"{index % 9 + 1}}}, "]
    items[-1] = items[-1].removesuffix(", ")
    return ['{"items": [', *items, "]}"]


def _cell(
    client: BlockingKernelClient, engine: ScriptedEngine, url: str, case: tuple[str, str], pieces: list[str]
) -> float:
    engine.script(ScriptedTurn(chunks=pieces, chunk_delay=TOKEN_S))
    api, mode = case
    printed, _ = execute(client, f"measure({api!r}, {mode!r}, {url!r})")
    cpu: float = json.loads(printed)["cpu"]
    return cpu


def _measure(rounds: int) -> dict[tuple[str, str], list[float]]:
    """Each strategy and mode once per round, in a rotating order, after an untimed warm-up of each."""
    engine = ScriptedEngine()
    pieces = catalog_pieces(TOKENS)
    results: dict[tuple[str, str], list[float]] = {case: [] for case in CASES}
    with ServerThread(engine) as server, kernel() as client:
        execute(client, KERNEL_SETUP)
        for case in CASES:
            _cell(client, engine, server.url, case, catalog_pieces(40))
        for round_number in range(rounds):
            shift = round_number % len(CASES)
            for case in CASES[shift:] + CASES[:shift]:
                results[case].append(_cell(client, engine, server.url, case, pieces))
    return results


def run(quick: bool = False) -> list[Row]:
    results = _measure(rounds=2 if quick else 6)
    rows = []
    for api in STRATEGIES:
        row = ratio_row(
            "stream-typed",
            f"{api}: {TOKENS // 1000}k-token JSON reply, %%alloy -o T vs text cell",
            "ms CPU",
            results[api, "typed"],
            results[api, "text"],
            "text cell (Markdown view)",
            scale=1e3,
            goal=f"ratio ≤ {GOAL}",
            limit=GOAL,
        )
        row.notes["typed µs/token"] = row.ours.median * 1e3 / TOKENS
        rows.append(row)
    return rows
