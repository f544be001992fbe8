"""Thinking streams alongside the text, on every API, and is never part of the text or the output."""

from __future__ import annotations

import pytest
from sample_types import Invoice

from alloy_nb import ask
from alloy_nb._choices import STRATEGIES
from alloy_nb.testing import ScriptedTurn as Reply


@pytest.mark.parametrize("api", STRATEGIES)
def test_a_stream_yields_the_answer_and_keeps_the_thinking_apart(server, api: str) -> None:
    server.script(Reply(thinking="First, consider the sky.", chunks=["It is ", "blue."]))
    stream = ask.stream("Colour of the sky?", api=api)
    pieces = list(stream)
    assert "".join(pieces) == "It is blue." == stream.text
    assert stream.thinking == "First, consider the sky."
    assert stream.trace.responses[0].thinking == "First, consider the sky."
    assert stream.trace.responses[0].ttft_s is not None


@pytest.mark.parametrize("api", STRATEGIES)
def test_typed_output_never_parses_the_thinking(server, api: str) -> None:
    server.script(Reply(thinking='{"number": "WRONG", "total": 0}', text='{"number": "A-1", "total": 3}'))
    value, trace = ask.traced("Invoice.", output=Invoice, api=api)
    assert value == Invoice(number="A-1", total=3.0)
    assert trace.responses[0].thinking == '{"number": "WRONG", "total": 0}'


@pytest.mark.parametrize(
    ("model", "think", "native", "openai"),
    [
        ("qwen3:0.6b", True, True, "medium"),
        ("qwen3:0.6b", False, False, "none"),
        ("gpt-oss:20b", "high", "high", "high"),
        ("gpt-oss:20b", "Low", "low", "low"),
        ("gpt-oss:20b", True, "medium", "medium"),  # levels only: True is its default level
        ("smollm2:135m", False, False, "none"),  # off is never refused
    ],
)
def test_think_reaches_each_wire_in_its_own_words(server, model, think, native, openai) -> None:
    ask("hi", think=think, api="native", model=f"ollama:{model}")
    ask("hi", think=think, api="openai_chat", model=f"ollama:{model}")
    native_body, openai_body = (request.body for request in server.requests)
    assert native_body["think"] == native and openai_body["reasoning_effort"] == openai


def test_think_from_the_environment_and_a_clear_error_for_nonsense(server, monkeypatch) -> None:
    import alloy_nb
    from alloy_nb import ConfigurationError

    monkeypatch.setenv("ALLOY_THINK", "off")
    alloy_nb.reset_configuration()
    ask("hi")
    assert server.requests[0].body["think"] is False
    with pytest.raises(
        ConfigurationError, match="think='deep' is not a thinking setting; use True, False or one of low, medium, high"
    ):
        ask("hi", think="deep")


def test_unset_think_sends_nothing(server) -> None:
    ask("hi", api="native")
    ask("hi", api="openai_chat")
    assert "think" not in server.requests[0].body and "reasoning_effort" not in server.requests[1].body


INLINE = "<think>\nBlue light scatters most.\n</think>\n\n"


@pytest.mark.parametrize("api", STRATEGIES)
def test_inline_think_tags_are_split_off_a_reply(server, api: str) -> None:
    server.script(Reply(text=INLINE + "It is blue."))
    text, trace = ask.traced("Colour of the sky?", api=api)
    assert text == "It is blue."
    assert trace.responses[0].thinking == "\nBlue light scatters most.\n"
    assert "<think>" in str(trace.responses[0].raw)  # the trace keeps the reply as it came


@pytest.mark.parametrize("api", STRATEGIES)
def test_inline_think_tags_are_split_off_a_stream_cut_anywhere(server, api: str) -> None:
    whole = INLINE + "It is blue."
    server.script(Reply(chunks=[whole[i : i + 3] for i in range(0, len(whole), 3)]))
    stream = ask.stream("Colour of the sky?", api=api)
    events = list(stream.events())
    assert "".join(piece for kind, piece in events if kind == "text") == "It is blue." == stream.text
    assert stream.thinking == "\nBlue light scatters most.\n" == stream.trace.responses[0].thinking
    kinds = [kind for kind, _ in events]
    assert kinds == sorted(kinds, reverse=True)  # all thinking, then all text
    assert stream.trace.responses[0].thinking_pieces == kinds.count("thinking")


@pytest.mark.parametrize("api", STRATEGIES)
def test_typed_output_parses_what_follows_inline_thinking(server, api: str) -> None:
    server.script(Reply(text='<think>{"number": "WRONG"}</think>{"number": "A-1", "total": 3}'))
    assert ask("Invoice.", output=Invoice, api=api) == Invoice(number="A-1", total=3.0)
