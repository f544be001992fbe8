"""Deterministic stand-ins for what only a real model computes, for the demo engine: token log
probabilities and embeddings. They have the real shapes and invariants, not a model's meaning.

Log probabilities: each stream piece of a scripted reply is one "token", the likeliest at its
position, with a probability between 0.5 and 0.95 drawn from a hash of its text; the alternatives
are a fixed list of common tokens sharing what is left, each half the one before.

Embeddings: a hashed bag of the text's character trigrams (feature hashing) in DEMO_DIMENSIONS
numbers, so texts that share words point the same way; not normalized, as an engine's are not.
"""

from __future__ import annotations

import hashlib
import math

from alloy_nb.server.engine_events import TextDelta, TokenLogprob

DEMO_DIMENSIONS = 384
_FILLERS = (" the", " a", ",", ".", " and", " to", " of", " is", " in", " it", "\n", " I", " you", " that",
            " for", " on", " with", " as", " was", " be", " at")  # fmt: skip


def with_logprobs(delta: TextDelta, top: int) -> TextDelta:
    """`delta` as one token with its synthetic log probability and `top` alternatives (itself first)."""
    chosen = 0.5 + 0.45 * (_hash(delta.text) % 1000) / 999
    others = [filler for filler in _FILLERS if filler != delta.text][: max(0, top - 1)]
    alternatives = [_token(text, (1 - chosen) / 2 ** (rank + 1)) for rank, text in enumerate(others)]
    entry = _token(delta.text, chosen, tuple([_token(delta.text, chosen), *alternatives][:top]))
    return TextDelta(delta.text, (entry,))


def embedding(text: str) -> list[float]:
    """A vector of DEMO_DIMENSIONS for `text`: its character trigrams counted into hashed buckets."""
    vector = [0.0] * DEMO_DIMENSIONS
    padded = f"  {text.lower()} "
    for start in range(len(padded) - 2):
        bucket = _hash(padded[start : start + 3])
        vector[bucket % DEMO_DIMENSIONS] += 1.0 if bucket & 1 << 40 else -1.0
    return vector


def _token(text: str, probability: float, top: tuple[TokenLogprob, ...] = ()) -> TokenLogprob:
    return TokenLogprob(text, math.log(probability), tuple(text.encode()), top)


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
