"""A GGUF model loaded by llama.cpp, with one context holding a sequence per decoding slot.

`SlotDecoder` owns one at a time on its worker thread; it is made and freed there, and every call
on it comes from there.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import llama_cpp as lc

from alloy_nb.server.engines import EngineError

BATCH_TOKENS = 512  # tokens per llama_decode at most, like llama-cpp-python's n_batch


class LoadedModel:
    """A model and its context with `parallel` sequences of `n_ctx` tokens each (freed by `free`)."""

    def __init__(self, path: Path, n_ctx: int, parallel: int, threads: int) -> None:
        lc.llama_backend_init()
        self.key = (path, n_ctx)
        self.model = lc.llama_model_load_from_file(str(path).encode(), lc.llama_model_default_params())
        if not self.model:
            raise EngineError(500, f"llama.cpp could not load the model file {path}")
        params = lc.llama_context_default_params()
        params.n_ctx = n_ctx * parallel
        params.n_batch = params.n_ubatch = BATCH_TOKENS
        params.n_seq_max = parallel
        params.n_threads = params.n_threads_batch = threads
        self.ctx = lc.llama_init_from_model(self.model, params)
        if not self.ctx:
            lc.llama_model_free(self.model)
            raise EngineError(500, f"llama.cpp could not make a context of {n_ctx} tokens x {parallel} slots")
        self.vocab = lc.llama_model_get_vocab(self.model)
        self.memory = lc.llama_get_memory(self.ctx)
        self.n_ctx_seq = int(lc.llama_n_ctx_seq(self.ctx))
        self.batch = lc.llama_batch_init(BATCH_TOKENS, 0, 1)
        self._piece = (ctypes.c_char * 256)()

    def tokenize(self, text: str) -> list[int]:
        """The tokens of `text`, special tokens in it parsed as such."""
        data = text.encode()
        room = len(data) + 8
        tokens = (lc.llama_token * room)()
        count = lc.llama_tokenize(self.vocab, data, len(data), tokens, room, False, True)
        if count < 0:
            raise EngineError(500, "llama.cpp could not tokenize the prompt")
        return list(tokens[:count])

    def piece(self, token: int) -> bytes:
        """The bytes of one token (part of a UTF-8 character, possibly)."""
        size = lc.llama_token_to_piece(self.vocab, token, self._piece, len(self._piece), 0, False)
        return self._piece.raw[: max(0, size)]

    def free(self) -> None:
        lc.llama_batch_free(self.batch)
        lc.llama_free(self.ctx)
        lc.llama_model_free(self.model)
