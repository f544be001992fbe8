"""What log probabilities cost the embedded server: decode rate with ``top_logprobs: 5`` against
without, through ``/api/chat`` (NDJSON) on one `alloy-nb serve` in another process, in one run.

Each round streams the same greedy completion both ways, in a rotating order, after a warm-up of each
(which also fills the prompt cache). Decode rate is (pieces - 1) / (last piece - first piece), as
the client sees it. Goal: at least 0.9x the rate without (the work is a log-softmax and a top-5 pick
over 49,152 logits per token, against ~8 ms to decode it). The rows also say how many tokens each
way made (greedy: the same) and that every token came with its log probability.
"""

from __future__ import annotations

import json
import time

import httpx

from bench.report import Row, ratio_row
from bench.servers import EMBEDDED_MODEL, serving

RATE_GOAL = 0.9
MAX_TOKENS = 128
TOP = 5
BODY = {
    "model": EMBEDDED_MODEL,
    "messages": [{"role": "user", "content": "Write a short story about a lighthouse."}],
    "stream": True,
    "options": {"temperature": 0, "seed": 1, "num_predict": MAX_TOKENS},
}


def _rate(client: httpx.Client, logprobs: bool) -> tuple[float, int, int]:
    """One streamed completion: decode tokens/s, text pieces, log probabilities received."""
    body = BODY | ({"logprobs": True, "top_logprobs": TOP} if logprobs else {})
    arrivals: list[float] = []
    entries = 0
    with client.stream("POST", "/api/chat", json=body) as reply:
        reply.raise_for_status()
        for line in reply.iter_lines():
            if line:
                chunk = json.loads(line)
                entries += len(chunk.get("logprobs") or [])
                if chunk["message"]["content"]:
                    arrivals.append(time.perf_counter())
    return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]), len(arrivals), entries


def run(quick: bool = False) -> list[Row]:
    rounds = 3 if quick else 9
    samples: dict[bool, list[tuple[float, int, int]]] = {True: [], False: []}
    with serving("llama") as server, httpx.Client(base_url=server.url, timeout=300) as client:
        _rate(client, True), _rate(client, False)  # warm-up
        for index in range(rounds):
            for logprobs in [True, False] if index % 2 == 0 else [False, True]:
                samples[logprobs].append(_rate(client, logprobs))
    row = ratio_row(
        "logprobs",
        f"/api/chat decode rate with top_logprobs={TOP}",
        "tokens/s",
        [s[0] for s in samples[True]],
        [s[0] for s in samples[False]],
        "no logprobs",
        goal=f"ratio ≥ {RATE_GOAL}",
        limit=RATE_GOAL,
        higher_is_better=True,
    )
    pieces = {s[1] for s in samples[True] + samples[False]}
    row.notes["pieces"] = pieces.pop() if len(pieces) == 1 else f"differ: {sorted(pieces)}"
    row.notes["every token with its logprob"] = all(s[2] >= s[1] for s in samples[True])
    return [row]
