"""What the llama decoder is asked to do: generate a reply (`Job`) or embed texts (`EmbedJob`), and
how many of them it takes at once (`OLLAMA_NUM_PARALLEL`) and keeps waiting (`OLLAMA_MAX_QUEUE`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alloy_nb.server.engine_events import EngineEvent
from alloy_nb.server.engines import Embeddings
from alloy_nb.server.llama_sampling import Sampling

MAX_QUEUE = 512  # Ollama's default OLLAMA_MAX_QUEUE
BUSY = "server busy, please try again.  maximum pending requests exceeded"


def default_parallel() -> int:
    """Slots: `OLLAMA_NUM_PARALLEL` when it is a positive number, else 4 (Ollama's usual setting)."""
    return _positive_env("OLLAMA_NUM_PARALLEL", 4)


def default_max_queue() -> int:
    """Requests that may wait for a slot: `OLLAMA_MAX_QUEUE`, else 512."""
    return _positive_env("OLLAMA_MAX_QUEUE", MAX_QUEUE)


def _positive_env(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass(eq=False)
class Job:
    """One request for the decoder: its prompt, sampling, and where its events go."""

    model_path: Path
    n_ctx: int  # tokens of context per slot
    prompt: str  # the rendered chat prompt; special tokens in it are parsed
    sampling: Sampling
    emit: Callable[[EngineEvent | BaseException], None]  # called from the worker thread
    top_logprobs: int | None = None  # log probabilities of each token with this many alternatives; None: none
    cancelled: bool = False
    load_only: bool = False  # load the model and finish at once (a warm-up)
    submitted_ns: int = field(default_factory=time.perf_counter_ns)


@dataclass(eq=False)
class EmbedJob:
    """Texts to embed with the decoder's model; it needs no slot, only turns of the worker."""

    model_path: Path
    n_ctx: int  # the longest input, in tokens
    texts: list[str]
    truncate: bool  # cut a longer input to n_ctx tokens (else refuse it)
    emit: Callable[[Embeddings | BaseException], None]  # called from the worker thread
    cancelled: bool = False
