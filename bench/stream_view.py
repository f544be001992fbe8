"""Streamed display in a real Jupyter kernel: alloy_nb's StreamView against consuming the stream bare
and against a naive view that re-renders the whole reply as Markdown after every token.

Scripted streams of 1k, 3k, 10k and 100k one-word tokens come from a scripted server in this
process; one kernel takes each stream three ways, the modes in a rotating order, over several rounds:
  consume  iterate `ask.stream(...)` and drop the pieces (the floor);
  view     `StreamView.add` per piece, then `finish` with the Markdown bundle and the trace footer;
  naive    `display(Markdown(text)).update(...)` after every piece (1k-10k only: it is quadratic);
and a thinking model's stream (half the pieces thinking, then the answer) two ways:
  consume_thinking  iterate `stream.events()` and drop the pieces;
  view_thinking     `StreamView.add_thinking` / `add` per piece, then `finish`.
Measured: the kernel main thread's CPU (`time.thread_time()`) per stream, and the moments of the
view's display updates (from the kernel's message headers). Goals: view CPU <= 1.5x consume at
every size, with thinking too; naive CPU >= 10x view at 10k; view CPU per token at 100k <= 1.5x that at 1k (linear);
<= 15 progress updates in any second of a stream (the final render excluded). The 1k figure carries
each call's fixed cost (request, display, footer), so linear growth shows as a ratio below 1;
consume's own ratio is noted beside it.
"""

from __future__ import annotations

import bisect
import json
import statistics
from dataclasses import dataclass

from jupyter_client.blocking.client import BlockingKernelClient

from alloy_nb.testing import ScriptedEngine, ScriptedTurn, ServerThread
from bench.kernel import execute, kernel
from bench.report import Row, ratio_row
from bench.timing import Stats

SIZES = (1_000, 3_000, 10_000, 100_000)
NAIVE_SIZES = (1_000, 3_000, 10_000)
UNRUN_SIZE = SIZES[-1]  # naive is estimated here, not run
MODES = ("consume", "view", "naive", "consume_thinking", "view_thinking")
VIEW_GOAL = 1.5
NAIVE_GOAL = 10.0
LINEAR_GOAL = 1.5
UPDATES_GOAL = 15

KERNEL_SETUP = """
import json, time
from IPython.display import Markdown, display
from alloy_nb import ask
from alloy_nb._notebook.stream_view import StreamView
from alloy_nb._notebook.result_view import text_bundle

def measure(mode, url):
    cpu, wall = time.thread_time(), time.monotonic()
    stream = ask.stream("Go.", host=url)
    if mode == "consume":
        for piece in stream:
            pass
    elif mode == "view":
        view = StreamView()
        for piece in stream:
            view.add(piece)
        view.finish(text_bundle(view.text, "markdown"), stream.trace)
    elif mode == "consume_thinking":
        for kind, piece in stream.events():
            pass
    elif mode == "view_thinking":
        view = StreamView()
        for kind, piece in stream.events():
            if kind == "thinking":
                view.add_thinking(piece)
            else:
                view.add(piece)
        view.finish(text_bundle(view.text, "markdown"), stream.trace)
    else:
        handle = display(Markdown(""), display_id=True)
        text = ""
        for piece in stream:
            text += piece
            handle.update(Markdown(text))
    print(json.dumps({"cpu": time.thread_time() - cpu, "wall": time.monotonic() - wall}))
"""


@dataclass(frozen=True)
class Streamed:
    """One stream as the kernel took it: main-thread CPU and wall seconds, display update moments."""

    cpu: float
    wall: float
    update_times: list[float]

    @property
    def progress_times(self) -> list[float]:
        """The updates before the final render."""
        return self.update_times[:-1]


Results = dict[tuple[str, int], list[Streamed]]  # (mode, size) -> one stream per round


def _stream(client: BlockingKernelClient, engine: ScriptedEngine, url: str, mode: str, pieces: list[str]) -> Streamed:
    if mode.endswith("_thinking"):  # the first half thought (a word per piece), the rest answered
        half = len(pieces) // 2
        engine.script(ScriptedTurn(thinking="".join(pieces[:half]), chunks=pieces[half:]))
    else:
        engine.script(ScriptedTurn(chunks=pieces))
    printed, updates = execute(client, f"measure({mode!r}, {url!r})")
    figures = json.loads(printed)
    return Streamed(figures["cpu"], figures["wall"], updates)


def _modes(size: int, round_number: int) -> list[str]:
    """The modes run at this size, rotated so that none always runs first."""
    modes = [mode for mode in MODES if mode != "naive" or size in NAIVE_SIZES]
    shift = round_number % len(modes)
    return modes[shift:] + modes[:shift]


def _measure(rounds: int) -> Results:
    """Every (mode, size) once per round, after an untimed warm-up round at the smallest size."""
    engine = ScriptedEngine()
    pieces = {size: [f"w{i % 1000} " for i in range(size)] for size in SIZES}
    results: Results = {}
    with ServerThread(engine) as server, kernel() as client:
        execute(client, KERNEL_SETUP)
        for mode in MODES:
            _stream(client, engine, server.url, mode, pieces[SIZES[0]])
        for round_number in range(rounds):
            for size in SIZES:
                for mode in _modes(size, round_number):
                    results.setdefault((mode, size), []).append(_stream(client, engine, server.url, mode, pieces[size]))
    return results


def _cpu(streams: list[Streamed]) -> list[float]:
    return [stream.cpu for stream in streams]


def _per_token(streams: list[Streamed], size: int) -> list[float]:
    return [stream.cpu / size for stream in streams]


def _label(size: int) -> str:
    return f"{size // 1000}k tokens"


def _view_rows(results: Results, suffix: str = "") -> list[Row]:
    rows = []
    shown = ", with thinking" if suffix else ""
    for size in SIZES:
        row = ratio_row(
            "stream-view",
            f"{_label(size)}: view vs consume{shown}",
            "ms CPU",
            _cpu(results["view" + suffix, size]),
            _cpu(results["consume" + suffix, size]),
            "consume" + shown,
            scale=1e3,
            goal=f"ratio ≤ {VIEW_GOAL}",
            limit=VIEW_GOAL,
        )
        row.notes["view µs/token"] = row.ours.median * 1e3 / size
        row.notes["added µs/token"] = (row.ours.median - row.reference.median) * 1e3 / size  # type: ignore[union-attr]
        rows.append(row)
    return rows


def _naive_estimate(results: Results) -> float:
    """Naive CPU seconds at UNRUN_SIZE: its per-token cost, fitted as growing linearly with the text
    (and at least that of the largest size run), times the tokens."""
    per_token = [statistics.median(_per_token(results["naive", size], size)) for size in NAIVE_SIZES]
    slope, intercept = statistics.linear_regression(NAIVE_SIZES, per_token)
    return UNRUN_SIZE * max(intercept + slope * UNRUN_SIZE, per_token[-1])


def _naive_rows(results: Results) -> list[Row]:
    rows = []
    for size in NAIVE_SIZES:
        decisive = size == NAIVE_SIZES[-1]  # the goal applies at the largest size run
        goal = f"naive ≥ {NAIVE_GOAL:g}x view (ratio ≤ {1 / NAIVE_GOAL:g})" if decisive else ""
        row = ratio_row(
            "stream-view",
            f"{_label(size)}: view vs naive re-render",
            "ms CPU",
            _cpu(results["view", size]),
            _cpu(results["naive", size]),
            "naive Markdown re-render",
            scale=1e3,
            goal=goal,
            limit=1 / NAIVE_GOAL if decisive else None,
        )
        row.notes["naive/view"] = 1 / row.ratio.median  # type: ignore[union-attr]
        row.notes["naive µs/token"] = row.reference.median * 1e3 / size  # type: ignore[union-attr]
        if decisive:
            row.notes[f"naive at {_label(UNRUN_SIZE)}"] = (
                f"not run: every token re-sends the whole text, so about {_naive_estimate(results):.0f} s CPU"
                " (per-token cost fitted over the sizes run)"
            )
        rows.append(row)
    return rows


def _linearity_row(results: Results, suffix: str = "") -> Row:
    small, large = SIZES[0], SIZES[-1]
    view, consume_mode = "view" + suffix, "consume" + suffix
    shown = ", with thinking" if suffix else ""
    row = ratio_row(
        "stream-view",
        f"view CPU per token{shown}, {_label(large)} vs {_label(small)}",
        "µs/token",
        _per_token(results[view, large], large),
        _per_token(results[view, small], small),
        f"view at {_label(small)}",
        scale=1e6,
        goal=f"ratio ≤ {LINEAR_GOAL} (linear)",
        limit=LINEAR_GOAL,
    )
    consume = [
        a / b
        for a, b in zip(
            _per_token(results[consume_mode, large], large),
            _per_token(results[consume_mode, small], small),
            strict=True,
        )
    ]
    row.notes["consume, same ratio"] = statistics.median(consume)
    return row


def _busiest_second(times: list[float]) -> int:
    """The most updates in any one-second window [t, t + 1)."""
    return max((bisect.bisect_left(times, start + 1.0) - index for index, start in enumerate(times)), default=0)


def _updates_row(results: Results) -> Row:
    """The busiest second of the longest streams (where the rate limit binds); the goal holds for every stream."""
    worst = max(_busiest_second(stream.progress_times) for size in SIZES for stream in results["view", size])
    longest = results["view", SIZES[-1]]
    busiest = Stats.of([float(_busiest_second(stream.progress_times)) for stream in longest])
    row = Row(
        "stream-view",
        f"view: progress updates in the busiest second, {_label(SIZES[-1])}",
        "updates/s",
        busiest,
        goal=f"≤ {UPDATES_GOAL} in every stream",
        met=worst <= UPDATES_GOAL,
    )
    row.notes["worst stream, any size"] = worst
    row.notes["mean updates/s"] = statistics.median(len(stream.progress_times) / stream.wall for stream in longest)
    return row


def run(quick: bool = False) -> list[Row]:
    results = _measure(rounds=1 if quick else 4)
    return [
        *_view_rows(results),
        *_naive_rows(results),
        _linearity_row(results),
        _updates_row(results),
        *_view_rows(results, "_thinking"),
        _linearity_row(results, "_thinking"),
    ]
