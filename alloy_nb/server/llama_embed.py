"""Embeddings on the decoder's worker: texts read by llama.cpp, each token's last hidden state
averaged over the text (mean pooling, as llama.cpp pools; the wire formats normalize).

The texts go through the loaded model's embedding context (see `LoadedModel.embedding_context`) a
few at a time, in rounds: each round starts from an empty memory and takes as many of the next
texts as fit in it together (EMBED_SEQUENCES at most), then feeds them a chunk per turn of the
worker, between the generating slots' steps, so that chats keep streaming while a long list is
embedded. The model is causal: a token's state depends only on the tokens before it, so a text fed
in several chunks pools to what one whole batch gives. A job cancelled (its client went away) stops
at the next turn.
"""

from __future__ import annotations

import llama_cpp as lc
import numpy as np

from alloy_nb.server.engines import Embeddings, EngineError
from alloy_nb.server.llama_jobs import EmbedJob
from alloy_nb.server.llama_loaded import BATCH_TOKENS, EMBED_SEQUENCES, LoadedModel


class EmbedWork:
    """One `EmbedJob` in progress: its texts' tokens, the sums of their tokens' states, the round."""

    def __init__(self, job: EmbedJob, loaded: LoadedModel, load_ns: int = 0) -> None:
        self.job = job
        self._loaded = loaded
        self._load_ns = load_ns
        self._ctx = loaded.embedding_context()
        self._tokens = [
            self._fitted(index, loaded.tokenize(text, prompt=False)) for index, text in enumerate(job.texts)
        ]
        self._sums = np.zeros((len(self._tokens), loaded.n_embd), dtype=np.float64)
        self._fed = [0] * len(self._tokens)
        self._round: list[int] = []  # the texts being read, by index; a text's sequence is its place here
        self._next = 0  # the first text not yet in a round

    def step(self, budget: int) -> bool:
        """Feed up to `budget` tokens of the round's texts (starting a round if none is going);
        True once every text is read and the result emitted."""
        if not self._round:
            self._start_round()
        batch, count, owners = self._loaded.batch, 0, []
        for seq, index in enumerate(self._round):
            tokens = self._tokens[index]
            take = tokens[self._fed[index] : self._fed[index] + min(budget, BATCH_TOKENS) - count]
            for offset, token in enumerate(take):
                batch.token[count] = token
                batch.pos[count] = self._fed[index] + offset
                batch.n_seq_id[count] = 1
                batch.seq_id[count][0] = seq
                batch.logits[count] = True  # every token's state is pooled
                count += 1
            owners += [index] * len(take)
            self._fed[index] += len(take)
        if count:  # (texts of no tokens have nothing to read)
            self._decode(count, owners)
        if all(self._fed[index] == len(self._tokens[index]) for index in self._round):
            self._round = []
        if self._round or self._next < len(self._tokens):
            return False
        self._emit()
        return True

    def _decode(self, count: int, owners: list[int]) -> None:
        """Decode the batch's `count` tokens and add each one's state to its text's sum."""
        self._loaded.batch.n_tokens = count
        status = lc.llama_decode(self._ctx, self._loaded.batch)
        if status != 0:
            raise EngineError(500, f"llama.cpp could not read the texts to embed (status {status})")
        states = np.ctypeslib.as_array(lc.llama_get_embeddings(self._ctx), shape=(count, self._loaded.n_embd))
        np.add.at(self._sums, np.asarray(owners), states)

    def _fitted(self, index: int, tokens: list[int]) -> list[int]:
        """A text's tokens, cut to the context when `truncate` (else one too long is the client's error)."""
        limit = self.job.n_ctx
        if len(tokens) <= limit:
            return tokens
        if not self.job.truncate:
            raise EngineError(
                400,
                f"the input length exceeds the context length: input {index} has {len(tokens)} tokens, the "
                f"context {limit}; send it shorter, raise options.num_ctx, or leave truncate on",
            )
        return tokens[:limit]

    def _start_round(self) -> None:
        """Empty the memory and take the next texts that fit in it together."""
        lc.llama_memory_clear(lc.llama_get_memory(self._ctx), True)
        room = self.job.n_ctx
        while self._next < len(self._tokens) and len(self._round) < EMBED_SEQUENCES:
            size = len(self._tokens[self._next])
            if self._round and size > room:
                break
            self._round.append(self._next)
            room -= size
            self._next += 1

    def _emit(self) -> None:
        counts = np.array([max(1, len(tokens)) for tokens in self._tokens], dtype=np.float64)[:, None]
        vectors = (self._sums / counts).tolist()
        tokens = sum(len(tokens) for tokens in self._tokens)
        self.job.emit(Embeddings(vectors=vectors, prompt_tokens=tokens, load_ns=self._load_ns))
