"""Thinking streams alongside the text, on both APIs, and is never part of the text or the output."""

from __future__ import annotations

import pytest
from sample_types import Invoice

from alloy_nb import ask
from alloy_nb.testing import ScriptedTurn as Reply


@pytest.mark.parametrize("api", ["native", "openai_chat"])
def test_a_stream_yields_the_answer_and_keeps_the_thinking_apart(server, api: str) -> None:
    server.script(Reply(thinking="First, consider the sky.", chunks=["It is ", "blue."]))
    stream = ask.stream("Colour of the sky?", api=api)
    pieces = list(stream)
    assert "".join(pieces) == "It is blue." == stream.text
    assert stream.thinking == "First, consider the sky."
    assert stream.trace.responses[0].thinking == "First, consider the sky."
    assert stream.trace.responses[0].ttft_s is not None


@pytest.mark.parametrize("api", ["native", "openai_chat"])
def test_typed_output_never_parses_the_thinking(server, api: str) -> None:
    server.script(Reply(thinking='{"number": "WRONG", "total": 0}', text='{"number": "A-1", "total": 3}'))
    value, trace = ask.traced("Invoice.", output=Invoice, api=api)
    assert value == Invoice(number="A-1", total=3.0)
    assert trace.responses[0].thinking == '{"number": "WRONG", "total": 0}'
