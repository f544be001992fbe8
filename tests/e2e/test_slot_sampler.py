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
from alloy_nb.server.schema_grammar import schema_grammar

PROMPT = "<|im_start|>user\nDescribe a city as JSON.<|im_end|>\n<|im_start|>assistant\n"
SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["name", "population"],
}
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
    links = [
        lc.llama_sampler_init_penalties(
            lc.llama_vocab_n_tokens(vocab), PENALTY_LAST_N, sampling.repeat_penalty, 0.0, 0.0
        )
    ]
    if sampling.grammar:
        links.append(lc.llama_sampler_init_grammar(vocab, sampling.grammar.encode(), b"root"))
    if sampling.temperature <= 0:
        links.append(lc.llama_sampler_init_greedy())
    else:
        links += [
            lc.llama_sampler_init_top_k(sampling.top_k),
            lc.llama_sampler_init_typical(1.0, 1),
            lc.llama_sampler_init_top_p(sampling.top_p, 1),
            lc.llama_sampler_init_min_p(sampling.min_p, 1),
            lc.llama_sampler_init_temp(sampling.temperature),
            lc.llama_sampler_init_dist(sampling.seed),
        ]
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
    [
        Sampling(temperature=0.0),
        Sampling(temperature=0.8, seed=7),
        Sampling(temperature=0.0, repeat_penalty=1.5),
        Sampling(temperature=0.0, grammar=json_schema_to_gbnf(json.dumps(SCHEMA))),
    ],
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


@pytest.mark.parametrize(
    "sampling",
    [
        Sampling(temperature=0.0, repeat_penalty=1.5, grammar=json_schema_to_gbnf(json.dumps(SCHEMA))),
        Sampling(temperature=0.9, seed=11, top_k=8, grammar=json_schema_to_gbnf(json.dumps(SCHEMA))),
        Sampling(temperature=1.2, seed=5, grammar=json_schema_to_gbnf(json.dumps(SCHEMA))),
    ],
    ids=["greedy, strong penalty", "seeded draw, top-k 8", "seeded draw, top-k 40"],
)
def test_judging_the_best_tokens_first_changes_no_pick(model, sampling: Sampling, monkeypatch) -> None:
    """After a refusal, the grammar over the best tokens picks what it would over the whole vocabulary."""
    vocab = lc.llama_model_get_vocab(model[0])
    whole = SlotSampler(vocab, sampling)
    whole._prefix = None  # the grammar over every token each time the first pick is refused
    ours = SlotSampler(vocab, sampling)
    shortcuts = []
    choose = type(ours._prefix).choose
    monkeypatch.setattr(type(ours._prefix), "choose", lambda self, chain: shortcuts.append(1) or choose(self, chain))
    try:
        expected = _generate(model, whole.sample)
        got = _generate(model, ours.sample)
    finally:
        whole.close()
        ours.close()
    assert got == expected and len(got) > 5
    assert shortcuts, "the prefix was never enough: this case tests nothing"


def _token(vocab: Any, text: str) -> int:
    buffer = (lc.llama_token * 4)()
    assert lc.llama_tokenize(vocab, text.encode(), len(text), buffer, 4, False, False) == 1
    return int(buffer[0])


def _crafted_logits(vocab: Any, best: dict[int, float], fillers: float) -> Any:
    """Every token at -10 but `best`, and 1,100 tokens the grammar `[ab]*` refuses at `fillers`,
    which push the token "b" out of the best PREFIX."""
    n_vocab = lc.llama_vocab_n_tokens(vocab)
    logits, buffer, placed = (ctypes.c_float * n_vocab)(*([-10.0] * n_vocab)), (ctypes.c_char * 64)(), 0
    for token in range(n_vocab):
        size = lc.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, True)
        refused = size > 0 and not set(buffer.raw[:size]) <= set(b"ab") and not lc.llama_vocab_is_eog(vocab, token)
        if placed < 1100 and refused:
            logits[token], placed = fillers, placed + 1
    for token, logit in best.items():
        logits[token] = logit
    return logits


def test_a_penalized_token_alone_in_the_prefix_sends_the_grammar_over_every_token(model) -> None:
    vocab = lc.llama_model_get_vocab(model[0])
    a, b = _token(vocab, "a"), _token(vocab, "b")
    sampler = SlotSampler(vocab, Sampling(temperature=0.0, repeat_penalty=1.5, grammar="root ::= [ab]*"))
    try:
        assert sampler.choose(_crafted_logits(vocab, {a: 9.0}, fillers=4.0)) == a
        # "a" is now penalized to 5.0 / 1.5; "b" at 3.9 lies outside the prefix and wins
        assert sampler.choose(_crafted_logits(vocab, {a: 5.0, b: 3.9}, fillers=4.0)) == b
    finally:
        sampler.close()


def test_a_prefix_with_fewer_accepted_tokens_than_top_k_sends_the_grammar_over_every_token(model) -> None:
    vocab = lc.llama_model_get_vocab(model[0])
    a, b = _token(vocab, "a"), _token(vocab, "b")
    logits = _crafted_logits(vocab, {a: 5.0, b: 3.9}, fillers=4.0)
    picks = []
    for seed in range(60):
        sampler = SlotSampler(
            vocab, Sampling(temperature=1.0, top_k=2, repeat_penalty=1.0, seed=seed, grammar="root ::= [ab]*")
        )
        try:
            picks.append(sampler.choose(logits))
        finally:
            sampler.close()
    # top-k 2 over the accepted tokens is {a, b}: a draw refused by the grammar can land on "b"
    assert set(picks) == {a, b}


@pytest.mark.parametrize("control", ["\n", "\t"])
def test_a_schemas_strings_hold_no_raw_control_characters_as_json_strings_cannot(model, control: str) -> None:
    vocab = lc.llama_model_get_vocab(model[0])
    quote, raw, letter = _token(vocab, '"'), _token(vocab, control), _token(vocab, "a")
    sampler = SlotSampler(vocab, Sampling(temperature=0.0, grammar=schema_grammar({"type": "string"})))
    try:
        assert sampler.choose(_crafted_logits(vocab, {quote: 9.0}, fillers=-5.0)) == quote
        assert sampler.choose(_crafted_logits(vocab, {raw: 9.0, letter: 8.0}, fillers=-5.0)) == letter
    finally:
        sampler.close()
    with pytest.raises(json.JSONDecodeError):
        json.loads(f'"{control}"')  # what the raw character would have made
