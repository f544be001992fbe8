"""A GGUF model loaded by llama.cpp, with one context holding a sequence per decoding slot, and (made
when first asked for) a second context that reads texts for their embeddings.

`SlotDecoder` owns one at a time on its worker thread; it is made and freed there, and every call
on it comes from there.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import llama_cpp as lc

from alloy_nb.server.engines import EngineError

BATCH_TOKENS = 512  # tokens per llama_decode at most, like llama-cpp-python's n_batch
EMBED_SEQUENCES = 64  # texts read together for their embeddings, at most


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
        self.n_vocab = int(lc.llama_vocab_n_tokens(self.vocab))
        self.n_embd = int(lc.llama_model_n_embd(self.model))
        self.memory = lc.llama_get_memory(self.ctx)
        self.n_ctx_seq = int(lc.llama_n_ctx_seq(self.ctx))
        self.batch = lc.llama_batch_init(BATCH_TOKENS, 0, 1)
        self._threads = threads
        self._embedding_ctx: Any = None
        self._piece = (ctypes.c_char * 256)()

    def tokenize(self, text: str, *, prompt: bool = True) -> list[int]:
        """The tokens of a rendered `prompt` (special tokens in it parsed as such, nothing added), or
        of plain text (special tokens spelled out as text, the model's BOS added as llama.cpp adds it)."""
        data = text.encode()
        room = len(data) + 8
        tokens = (lc.llama_token * room)()
        count = lc.llama_tokenize(self.vocab, data, len(data), tokens, room, not prompt, prompt)
        if count < 0:
            raise EngineError(500, "llama.cpp could not tokenize the prompt")
        return list(tokens[:count])

    def piece(self, token: int, special: bool = False) -> bytes:
        """The bytes of one token (part of a UTF-8 character, possibly); control tokens are empty
        unless `special`, when they are spelled as in the vocabulary (``<|im_end|>``)."""
        size = lc.llama_token_to_piece(self.vocab, token, self._piece, len(self._piece), 0, special)
        return self._piece.raw[: max(0, size)]

    def embedding_context(self) -> Any:
        """A context of `n_ctx` tokens shared by up to EMBED_SEQUENCES texts, giving each token's
        final hidden state (llama.cpp embeddings, unpooled: `llama_embed` pools them), made once."""
        if self._embedding_ctx is None:
            params = lc.llama_context_default_params()
            params.n_ctx = self.key[1]
            params.n_batch = params.n_ubatch = BATCH_TOKENS
            params.n_seq_max = EMBED_SEQUENCES
            params.kv_unified = True  # the texts read together share the n_ctx tokens
            params.embeddings = True
            params.pooling_type = lc.LLAMA_POOLING_TYPE_NONE
            params.n_threads = params.n_threads_batch = self._threads
            self._embedding_ctx = lc.llama_init_from_model(self.model, params)
            if not self._embedding_ctx:
                self._embedding_ctx = None
                raise EngineError(500, f"llama.cpp could not make an embedding context of {self.key[1]} tokens")
        return self._embedding_ctx

    def free(self) -> None:
        lc.llama_batch_free(self.batch)
        if self._embedding_ctx is not None:
            lc.llama_free(self._embedding_ctx)
        lc.llama_free(self.ctx)
        lc.llama_model_free(self.model)
