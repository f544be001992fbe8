"""The token view in a real Jupyter kernel: a `%%alloy --logprobs 20` cell on a 1,000-token reply, each
token with 20 alternatives, against the same cell without `--logprobs`.

A scripted server in this process answers with 1,000 one-word pieces; asked for log probabilities, it
gives each piece (one token) a probability and 20 alternatives (`alloy_nb.server.synthetic`). One
kernel runs, in a rotating order over several rounds:
  logprobs  the cell `%%alloy --logprobs 20`: the streamed reply, its Markdown, then the token view;
  plain     the same cell without `--logprobs` (what the cell costs without the tokens);
  view      `display(trace.tokens())` of a finished trace alone, at 1,000 tokens and at 10,000.
Measured: the kernel main thread's CPU (`time.thread_time()`), which also pays for serializing the
display message. Goal: the whole `--logprobs 20` cell in under 300 ms of kernel CPU; the view alone
linear (per-token CPU at 10,000 tokens <= 1.5x that at 1,000).
"""

from __future__ import annotations

import json

from jupyter_client.blocking.client import BlockingKernelClient

from alloy_nb.testing import ScriptedEngine, ScriptedTurn, ServerThread
from bench.kernel import execute, kernel
from bench.report import Row, ratio_row
from bench.timing import Stats

TOKENS = 1_000
LARGE = 10_000
TOP = 20
CELL_GOAL_S = 0.300
LINEAR_GOAL = 1.5

KERNEL_SETUP = f"""
import json, time
from IPython import get_ipython
from IPython.display import display
import alloy_nb

shell = get_ipython()
shell.run_line_magic("load_ext", "alloy_nb")
traces = {{}}

def measure(mode, url, size):
    alloy_nb.configure(host=url, log=False)
    if mode == "view":
        tokens = traces[size].tokens()
        cpu = time.thread_time()
        display(tokens)
    else:
        flags = "--logprobs {TOP}" if mode == "logprobs" else ""
        cpu = time.thread_time()
        shell.run_cell_magic("alloy", flags, "Go.")
    spent = time.thread_time() - cpu
    if mode == "logprobs":
        traces[size] = shell.user_ns["_alloy_trace"]
        assert len(traces[size].tokens()) == size, len(traces[size].tokens())
    print(json.dumps({{"cpu": spent}}))
"""


def _run(client: BlockingKernelClient, engine: ScriptedEngine, url: str, mode: str, size: int) -> float:
    if mode != "view":
        engine.script(ScriptedTurn(chunks=[f"w{i % 1000} " for i in range(size)]))
    printed, _ = execute(client, f"measure({mode!r}, {url!r}, {size})")
    return float(json.loads(printed.strip().splitlines()[-1])["cpu"])


def _measure(rounds: int) -> dict[tuple[str, int], list[float]]:
    engine = ScriptedEngine()
    results: dict[tuple[str, int], list[float]] = {}
    cases = [("logprobs", TOKENS), ("plain", TOKENS), ("view", TOKENS)]
    with ServerThread(engine) as server, kernel() as client:
        execute(client, KERNEL_SETUP)
        _run(client, engine, server.url, "logprobs", LARGE)  # the 10,000-token trace the view shows
        for mode, size in cases:  # warm-up
            _run(client, engine, server.url, mode, size)
        for round_number in range(rounds):
            shift = round_number % len(cases)
            for mode, size in [*cases[shift:], *cases[:shift], ("view", LARGE)]:
                results.setdefault((mode, size), []).append(_run(client, engine, server.url, mode, size))
    return results


def run(quick: bool = False) -> list[Row]:
    results = _measure(rounds=3 if quick else 9)
    cell = ratio_row(
        "token-view",
        f"%%alloy --logprobs {TOP}, {TOKENS:,}-token reply: the whole cell",
        "ms CPU",
        results["logprobs", TOKENS],
        results["plain", TOKENS],
        "the cell without --logprobs",
        scale=1e3,
    )
    cell.goal = f"≤ {CELL_GOAL_S * 1e3:.0f} ms kernel CPU"
    cell.met = cell.ours.median <= CELL_GOAL_S * 1e3
    cell.notes["slowest ms"] = max(results["logprobs", TOKENS]) * 1e3
    view = Row(
        "token-view",
        f"token view alone (display(trace.tokens())), {TOKENS:,} tokens × {TOP} alternatives",
        "ms CPU",
        Stats.of(results["view", TOKENS]).scaled(1e3),
    )
    linear = ratio_row(
        "token-view",
        f"token view CPU per token, {LARGE:,} vs {TOKENS:,} tokens",
        "µs/token",
        [cpu / LARGE for cpu in results["view", LARGE]],
        [cpu / TOKENS for cpu in results["view", TOKENS]],
        f"at {TOKENS:,} tokens",
        scale=1e6,
        goal=f"ratio ≤ {LINEAR_GOAL} (linear)",
        limit=LINEAR_GOAL,
    )
    return [cell, view, linear]
