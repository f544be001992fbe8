"""Streamed tool loops: `ask.stream(..., tools=[add])` against the same two-turn loop not streamed, on
every strategy, on a scripted server in a child process (it never shares this process's interpreter lock).

The scripted model thinks THINK_S before each reply; its first reply is a tool call that takes CALL_S
to write, its second an answer of ANSWER_TOKENS words at TOKEN_S each (about SmolLM2's rate here).
Each round runs the loop streamed (every event taken) and not streamed, in a rotating order. Goals:
the streamed loop's total <= 1.05x the whole call's (streaming the loop costs next to nothing), and
its first visible text after at most 1/3 of the whole call's total (what streaming is for).
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any

from alloy_nb._choices import STRATEGIES
from bench.adapter_overhead import add
from bench.report import Row, ratio_row
from bench.servers import EMBEDDED_MODEL
from bench.timing import interleaved

THINK_S = 0.05
CALL_S = 0.1
ANSWER_TOKENS = 60
TOKEN_S = 0.01
TOTAL_GOAL = 1.05
FIRST_TEXT_GOAL = 1 / 3
PROMPT = "What is 2 + 3? Explain."


def _model(request: Any) -> Any:
    """The scripted model: a tool call first, then the answer once the tool's result is in."""
    from alloy_nb.server import ScriptedToolCall, TurnScript

    if request.messages[-1].get("role") != "tool":
        return TurnScript(tool_calls=[ScriptedToolCall("add", {"a": 2, "b": 3})], delay=THINK_S + CALL_S)
    words = [f"w{index} " for index in range(ANSWER_TOKENS)]
    return TurnScript(chunks=words, delay=THINK_S, chunk_delay=TOKEN_S)


def _serve(connection: Connection) -> None:
    """The child process: the scripted model on a loopback port, until the parent says stop."""
    from alloy_nb.server import DemoEngine
    from alloy_nb.testing import ServerThread

    with ServerThread(DemoEngine(responder=_model)) as server:
        connection.send(server.url)
        connection.recv()


def _cases(api: str, url: str, first_texts: list[float]) -> dict[str, Any]:
    from alloy_nb import ask

    options: dict[str, Any] = {"model": f"ollama:{EMBEDDED_MODEL}", "host": url, "api": api, "tools": [add]}

    def streamed() -> str:
        started = time.perf_counter()
        first = None
        stream = ask.stream(PROMPT, **options)
        for kind, _ in stream.events():
            if first is None and kind == "text":
                first = time.perf_counter() - started
        first_texts.append(first or float("nan"))
        return str(stream.value)

    def whole() -> str:
        return str(ask(PROMPT, **options))

    assert streamed() == whole()
    first_texts.clear()
    return {"streamed": streamed, "whole": whole}


def _rows(api: str, timings: dict[str, list[float]], first_texts: list[float]) -> list[Row]:
    total = ratio_row(
        "stream-tools",
        f"{api}: two-turn tool loop, streamed vs whole",
        "ms",
        timings["streamed"],
        timings["whole"],
        "not streamed",
        scale=1e3,
        goal=f"ratio ≤ {TOTAL_GOAL}",
        limit=TOTAL_GOAL,
    )
    total.notes["added ms"] = total.ours.median - total.reference.median  # type: ignore[union-attr]
    first = ratio_row(
        "stream-tools",
        f"{api}: first visible text, streamed vs whole total",
        "ms",
        first_texts,
        timings["whole"],
        "whole call's total",
        scale=1e3,
        goal="ratio ≤ 1/3",
        limit=FIRST_TEXT_GOAL,
    )
    return [total, first]


def run(quick: bool = False) -> list[Row]:
    rounds, warmup = (3, 1) if quick else (15, 2)
    parent, child = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(child,), daemon=True)
    server.start()
    try:
        url = parent.recv()
        rows: list[Row] = []
        for api in STRATEGIES:
            first_texts: list[float] = []
            timings = interleaved(_cases(api, url, first_texts), rounds=rounds, loops=1, warmup=warmup)
            rows += _rows(api, timings, first_texts[warmup:])
        return rows
    finally:
        parent.send("stop")
        server.join(timeout=30)
