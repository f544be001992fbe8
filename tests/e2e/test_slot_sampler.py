"""A slot's sampler picks what llama-cpp-python's own chain (penalties over the whole vocabulary, then
the grammar, then greedy or a seeded draw) picks, token by token, on the real model."""

from __future__ import annotations

import ctypes
import json
from collections.abc import Callable, Iterator
from typing import Any

import llama_cpp as lc
import pytest
from llama_cpp.llama_grammar import json_schema_to_gbnf

from alloy_nb.server.embedded_model import served_smollm2
from alloy_nb.server.llama_sampling import PENALTY_LAST_N, Sampling, SlotSampler

PROMPT = "<|im_start|>user\nDescribe a city as JSON.<|im_end|>\n<|im_start|>assistant\n"
SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
          "required": ["name", "population"]}
STEPS = 96  # the JSON replies end well before


@pytest.fixture(scope="module")
def model() -> Iterator[tuple[Any, Any]]:
    path = served_smollm2()
    lc.llama_backend_init()
    weights = lc.llama_model_load_from_file(str(path).encode(), lc.llama_model_default_params())
    params = lc.llama_context_default_params()
    params.n_ctx, params.n_threads, params.n_threads_batch = 1024, 2, 2
    ctx = lc.llama_init_from_model(weights, params)
    yield weights, ctx
    lc.llama_free(ctx)
    lc.llama_model_free(weights)


def _reference_chain(vocab: Any, sampling: Sampling) -> Any:
    """The chain as llama-cpp-python's `Llama` builds it: penalties first, over every token."""
    chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
    links = [lc.llama_sampler_init_penalties(lc.llama_vocab_n_tokens(vocab), PENALTY_LAST_N,
                                             sampling.repeat_penalty, 0.0, 0.0)]
    if sampling.grammar:
        links.append(lc.llama_sampler_init_grammar(vocab, sampling.grammar.encode(), b"root"))
    if sampling.temperature <= 0:
        links.append(lc.llama_sampler_init_greedy())
    else:
        links += [lc.llama_sampler_init_top_k(sampling.top_k), lc.llama_sampler_init_typical(1.0, 1),
                  lc.llama_sampler_init_top_p(sampling.top_p, 1), lc.llama_sampler_init_min_p(sampling.min_p, 1),
                  lc.llama_sampler_init_temp(sampling.temperature), lc.llama_sampler_init_dist(sampling.seed)]
    for link in links:
        lc.llama_sampler_chain_add(chain, link)
    return chain


def _generate(model: tuple[Any, Any], pick: Callable[[Any, int], int]) -> list[int]:
    """Decode the prompt, then up to STEPS tokens chosen by `pick(ctx, index)`, until end of generation."""
    weights, ctx = model
    vocab = lc.llama_model_get_vocab(weights)
    lc.llama_memory_seq_rm(lc.llama_get_memory(ctx), -1, -1, -1)
    data = PROMPT.encode()
    buffer = (lc.llama_token * (len(data) + 8))()
    count = lc.llama_tokenize(vocab, data, len(data), buffer, len(buffer), False, True)
    feed, out = buffer[:count], []
    for _ in range(STEPS):
        tokens = (lc.llama_token * len(feed))(*feed)  # kept alive while the batch points at it
        assert lc.llama_decode(ctx, lc.llama_batch_get_one(tokens, len(feed))) == 0
        token = pick(ctx, -1)
        if lc.llama_vocab_is_eog(vocab, token):
            break
        out.append(token)
        feed = [token]
    return out


def _text(model: tuple[Any, Any], tokens: list[int]) -> str:
    vocab, buffer, pieces = lc.llama_model_get_vocab(model[0]), (ctypes.c_char * 64)(), []
    for token in tokens:
        size = lc.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, False)
        pieces.append(buffer.raw[:size])
    return b"".join(pieces).decode()


@pytest.mark.parametrize(
    "sampling",
    [Sampling(temperature=0.0), Sampling(temperature=0.8, seed=7), Sampling(temperature=0.0, repeat_penalty=1.5),
     Sampling(temperature=0.0, grammar=json_schema_to_gbnf(json.dumps(SCHEMA)))],
    ids=["greedy", "seeded draw", "strong penalty", "greedy with a JSON-schema grammar"],
)
def test_the_slot_sampler_picks_the_reference_chains_tokens(model, sampling: Sampling) -> None:
    vocab = lc.llama_model_get_vocab(model[0])
    reference = _reference_chain(vocab, sampling)
    ours = SlotSampler(vocab, sampling)
    try:
        expected = _generate(model, lambda ctx, index: int(lc.llama_sampler_sample(reference, ctx, index)))
        got = _generate(model, ours.sample)
    finally:
        lc.llama_sampler_free(reference)
        ours.close()
    assert got == expected and len(got) > 5
    if sampling.grammar:
        assert set(json.loads(_text(model, got))) == {"name", "population"}


def test_a_seeded_draw_under_a_grammar_still_follows_it(model) -> None:
    vocab = lc.llama_model_get_vocab(model[0])
    ours = SlotSampler(vocab, Sampling(temperature=1.0, seed=3, grammar=json_schema_to_gbnf(json.dumps(SCHEMA))))
    try:
        text = _text(model, _generate(model, ours.sample))
    finally:
        ours.close()
    assert set(json.loads(text)) == {"name", "population"}
