"""Streamed rendering in a real kernel, side by side in one run, and the cost of `%load_ext alloy_nb`.

Three ways to take the same 20,000-token scripted stream, interleaved over a few rounds, timed by
the kernel's main-thread CPU (the scripted server runs in this process, not in the kernel):
  consume  iterate `ask.stream(...)` and drop the pieces (the floor);
  view     alloy_nb's StreamView (bounded re-renders, Markdown at the end);
  naive    re-send the whole text as Markdown after every token.
Targets: progress updates <= 15 per second of stream (plus one final render); view CPU <= 1.5x consume; naive CPU >= 10x view.
"""

from __future__ import annotations

import json
import os
import statistics

from jupyter_client.manager import start_new_kernel

from alloy_nb.server import ScriptedEngine, ScriptedTurn, ServerThread

TOKENS = 20_000
ROUNDS = 3

SETUP = """
import json, time
from IPython.display import Markdown, display
from alloy_nb import ask
from alloy_nb.notebook.stream_view import StreamView
from alloy_nb.notebook.result_view import text_bundle

def measure(mode):
    cpu, wall = time.thread_time(), time.monotonic()
    stream = ask.stream("Go.")
    updates = 0
    if mode == "consume":
        for piece in stream:
            pass
    elif mode == "view":
        view = StreamView()
        for piece in stream:
            view.add(piece)
        view.finish(text_bundle(view.text, "markdown"), stream.trace)
        updates = view.updates
    else:
        handle = display(Markdown(""), display_id=True)
        text = ""
        for piece in stream:
            text += piece
            handle.update(Markdown(text))
            updates += 1
    print(json.dumps({"cpu": time.thread_time() - cpu, "wall": time.monotonic() - wall, "updates": updates}))
"""


def run(client, code: str) -> str:
    printed: list[str] = []

    def keep(message: dict) -> None:
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])

    reply = client.execute_interactive(code, timeout=600, output_hook=keep)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"kernel error running {code!r}: {reply['content']}")
    return "".join(printed)


def load_ext_ms() -> float:
    """`%load_ext alloy_nb` in a fresh kernel, in milliseconds (median of 3 kernels)."""
    times = []
    for _ in range(3):
        manager, client = start_new_kernel(kernel_name="python3")
        try:
            code = "import time; t = time.perf_counter(); get_ipython().run_line_magic('load_ext', 'alloy_nb'); print((time.perf_counter() - t) * 1000)"
            times.append(float(run(client, code)))
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    return statistics.median(times)


def main() -> None:
    engine = ScriptedEngine()
    pieces = [f"w{i % 1000} " for i in range(TOKENS)]
    with ServerThread(engine) as server:
        os.environ["OLLAMA_HOST"] = server.url
        manager, client = start_new_kernel(kernel_name="python3")
        try:
            run(client, SETUP)
            results: dict[str, list[dict]] = {"consume": [], "view": [], "naive": []}
            modes = list(results)
            for round_number in range(ROUNDS):  # rotate the order so no mode always runs first
                for mode in modes[round_number % 3 :] + modes[: round_number % 3]:
                    engine.script(ScriptedTurn(chunks=pieces))
                    results[mode].append(json.loads(run(client, f"measure({mode!r})")))
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    cpu = {mode: statistics.median(r["cpu"] for r in rows) for mode, rows in results.items()}
    view = results["view"]
    per_second = max((r["updates"] - 1) / r["wall"] for r in view)  # the final render is not a progress update
    print(f"{TOKENS}-token scripted stream, {ROUNDS} interleaved rounds, kernel main-thread CPU (median):")
    for mode, rows in results.items():
        print(f"  {mode:8} cpu {cpu[mode]:7.3f} s   wall {statistics.median(r['wall'] for r in rows):7.3f} s"
              f"   updates {statistics.median(r['updates'] for r in rows):7.0f}")
    print(f"view progress updates per second of stream (worst round, final render excluded): {per_second:.1f} (target <= 15)")
    print(f"view / consume CPU: {cpu['view'] / cpu['consume']:.2f}x (target <= 1.5x)")
    print(f"naive / view CPU:   {cpu['naive'] / cpu['view']:.1f}x (target >= 10x)")
    print(f"%load_ext alloy_nb in a fresh kernel: {load_ext_ms():.0f} ms median of 3 (target <= 150 ms)")


if __name__ == "__main__":
    main()
