"""The streamed-loop benchmarks' own pieces, checked without timing anything (a full run takes minutes):
the scripted model of `stream-tools`, and the JSON reply of `stream-typed`, on every strategy."""

from __future__ import annotations

import json
from types import SimpleNamespace

from alloy_nb._choices import STRATEGIES
from alloy_nb.server import TurnScript
from bench import stream_tools, stream_typed


def test_the_stream_tools_model_calls_add_then_answers_once_the_result_is_in() -> None:
    first = stream_tools._model(SimpleNamespace(messages=[{"role": "user", "content": stream_tools.PROMPT}]))
    assert isinstance(first, TurnScript) and [call.name for call in first.tool_calls] == ["add"]
    second = stream_tools._model(SimpleNamespace(messages=[{"role": "tool", "content": "5"}]))
    assert isinstance(second, TurnScript) and not second.tool_calls
    assert len(second.chunks or []) == stream_tools.ANSWER_TOKENS


def test_the_stream_typed_reply_is_a_catalogue_of_the_asked_size_on_every_strategy() -> None:
    pieces = stream_typed.catalog_pieces(stream_typed.TOKENS)
    catalogue = json.loads("".join(pieces))
    assert len(catalogue["items"]) == stream_typed.TOKENS // 4 and len(pieces) == stream_typed.TOKENS + 2
    assert {api for api, _ in stream_typed.CASES} == set(STRATEGIES)
    assert {mode for _, mode in stream_typed.CASES} == set(stream_typed.MODES)
