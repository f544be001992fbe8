"""`<think>…</think>` written into the content is split off, whole or piece by piece alike."""

from __future__ import annotations

import itertools

from hypothesis import given, strategies as st

from alloy_nb._strategies import StreamChunk, Turn
from alloy_nb._strategies.inline_thinking import InlineThinking, InlineThinkingStream, split_turn


def _split_in_pieces(text: str, cuts: list[int]) -> tuple[str, str]:
    splitter = InlineThinking()
    thinking, answer = [], []
    bounds = sorted({0, len(text), *(cut % (len(text) + 1) for cut in cuts)})
    for start, end in itertools.pairwise(bounds):
        got = splitter.feed(text[start:end])
        thinking.append(got[0])
        answer.append(got[1])
    rest = splitter.flush()
    return "".join(thinking) + rest[0], "".join(answer) + rest[1]


def test_a_leading_think_block_becomes_the_thinking() -> None:
    turn = split_turn(Turn(text="\n<think>\nThe sky scatters blue light.\n</think>\n\nIt is blue."))
    assert (turn.thinking, turn.text) == ("\nThe sky scatters blue light.\n", "It is blue.")


def test_text_that_only_mentions_the_tag_is_left_alone() -> None:
    text = "Models write <think> before they reason, then </think>."
    assert split_turn(Turn(text=text)) == Turn(text=text)


def test_thinking_the_server_split_itself_wins() -> None:
    turn = Turn(text="<think>inline</think>answer", thinking="separate")
    assert split_turn(turn).text == "<think>inline</think>answer"


def test_a_reply_cut_inside_the_thinking_has_no_answer() -> None:
    assert split_turn(Turn(text="<think>Step one, step tw")) == Turn(text="", thinking="Step one, step tw")


@given(
    thinking=st.text(alphabet="ab</>thinkc \n", max_size=30).filter(lambda t: "</think>" not in t),
    answer=st.text(alphabet="ab</>thinkc \n", max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
)
def test_any_split_into_pieces_gives_what_the_whole_gives(thinking: str, answer: str, cuts: list[int]) -> None:
    text = f"<think>{thinking}</think>{answer}"
    whole = split_turn(Turn(text=text))
    assert _split_in_pieces(text, cuts) == (whole.thinking or "", whole.text)
    assert whole.thinking == (thinking or None) and whole.text == answer.lstrip()


@given(text=st.text(alphabet="ab<think>/ \n", max_size=40), cuts=st.lists(st.integers(0, 100), max_size=8))
def test_pieces_lose_and_invent_nothing(text: str, cuts: list[int]) -> None:
    thinking, answer = _split_in_pieces(text, cuts)
    whole = split_turn(Turn(text=text))
    assert (thinking, answer) == (whole.thinking or "", whole.text)
    if not text.lstrip().startswith("<think>"):
        assert (thinking, answer) == ("", text)


def test_a_stream_passes_through_once_the_server_sends_thinking_itself() -> None:
    stream = InlineThinkingStream()
    assert stream.chunk(StreamChunk(thinking="real")).thinking == "real"
    assert stream.chunk(StreamChunk(text="<think>x</think>y")).text == "<think>x</think>y"
    assert stream.flush() is None


def test_a_stream_releases_what_it_holds_at_the_done_chunk_or_at_the_end() -> None:
    stream = InlineThinkingStream()
    assert stream.chunk(StreamChunk(text="  <thi")).text == ""
    last = stream.chunk(StreamChunk(done=True, completion_tokens=2))
    assert (last.text, last.completion_tokens) == ("  <thi", 2)
    held = InlineThinkingStream()
    held.chunk(StreamChunk(text="<think>almost </thin"))
    assert held.flush() == StreamChunk(thinking="</thin")


def test_whitespace_the_content_begins_with_is_kept_aside_not_scanned_again_with_each_piece() -> None:
    splitter = InlineThinking()
    for _ in range(20_000):
        assert splitter.feed("\n") == ("", "")
    assert splitter._held == ""  # the pieces are kept as they came; each new one alone is looked at
    assert splitter.feed("Hello") == ("", "\n" * 20_000 + "Hello")
    thinking = InlineThinking()
    pieces = [thinking.feed(" ") for _ in range(3)] + [thinking.feed("<think>hm</think> Hi")]
    assert pieces[-1] == ("hm", "Hi") and thinking.flush() == ("", "")


def test_content_held_when_the_server_s_own_thinking_arrives_is_passed_on() -> None:
    stream = InlineThinkingStream()
    chunks = [
        StreamChunk(text="\n\n"),
        StreamChunk(text="<"),
        StreamChunk(thinking="hmm"),
        StreamChunk(text="b>bold</b>"),
    ]
    out = [stream.chunk(chunk) for chunk in chunks]
    assert "".join(chunk.text for chunk in out) == "\n\n<b>bold</b>"
    assert "".join(chunk.thinking for chunk in out) == "hmm"
