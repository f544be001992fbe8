"""The slot's text output: stop strings and UTF-8 cut anywhere across token pieces; options read right."""

from __future__ import annotations

import itertools

from hypothesis import given, strategies as st

from alloy_nb.server.llama_sampling import RANDOM_SEED, Sampling, TextOut

STOPS = ["</s>", "END", "\n\n"]


def _played(data: bytes, cuts: list[int], stops: list[str]) -> tuple[str, bool]:
    out = TextOut(stops)
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    text = "".join(out.feed(data[a:b]) for a, b in itertools.pairwise(points))
    if not out.stopped:
        text += out.flush()
    return text, out.stopped


def _expected(text: str, stops: list[str]) -> tuple[str, bool]:
    found = [text.find(stop) for stop in stops if stop in text]
    return (text[: min(found)], True) if found else (text, False)


@given(
    st.text(alphabet=st.sampled_from(list("ab E N D</s>\né€🙂")), max_size=40),
    st.lists(st.integers(min_value=0, max_value=200), max_size=12),
)
def test_any_cut_of_the_bytes_gives_the_text_before_the_first_stop(text: str, cuts: list[int]) -> None:
    assert _played(text.encode(), cuts, STOPS) == _expected(text, STOPS)


def test_without_stops_text_passes_through_whole_characters_only() -> None:
    out = TextOut([])
    snowman = "☃".encode()
    assert [out.feed(snowman[:1]), out.feed(snowman[1:]), out.feed(b"!")] == ["", "☃", "!"]


def test_held_text_that_is_not_a_stop_is_sent_at_the_end() -> None:
    out = TextOut(["END"])
    assert out.feed(b"the EN") == "the "
    assert out.flush() == "EN" and not out.stopped


def test_options_use_ollama_names_and_engine_defaults() -> None:
    plain = Sampling.from_options({})
    assert (plain.temperature, plain.top_k, plain.max_tokens, plain.seed, plain.stop) == (
        0.2,
        40,
        None,
        RANDOM_SEED,
        (),
    )
    given_ = Sampling.from_options({"temperature": 0, "num_predict": 12, "seed": -1, "stop": ["a", ""], "top_k": 5})
    assert (given_.temperature, given_.max_tokens, given_.stop, given_.top_k) == (0.0, 12, ("a",), 5)
    assert given_.seed == 0xFFFFFFFF  # a negative seed wraps as llama.cpp's uint32 does


def test_nothing_is_sent_after_a_stop_string() -> None:
    out = TextOut(["\n\n"])
    assert (out.feed(b"<<\n\n"), out.feed("é".encode()), out.flush(), out.stopped) == ("<<", "", "", True)
