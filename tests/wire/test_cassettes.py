"""A trace becomes an offline test: `to_script` and `cassette` replay recorded calls exactly,
including a session recorded on the embedded model (tests/cassettes/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sample_tools import add
from sample_types import City

from alloy_nb import ask
from alloy_nb._choices import STRATEGIES
from alloy_nb._trace import Trace
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply, cassette, to_script

CASSETTES = Path(__file__).parents[1] / "cassettes"
_TIMING = {"id", "started_at", "duration_s", "at_s", "ttft_s", "thinking_s", "generation_s", "host", "url", "raw"}


def _without_timing(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_timing(item) for key, item in value.items() if key not in _TIMING}
    if isinstance(value, list):
        return [_without_timing(item) for item in value]
    return value


def same_call(recorded: Trace, replayed: Trace) -> None:
    assert _without_timing(replayed.to_dict()) == _without_timing(recorded.to_dict())


@pytest.mark.parametrize("api", STRATEGIES)
def test_a_traced_tool_call_replays_offline_into_the_same_trace(server, api: str) -> None:
    server.script(Reply(tool_calls=[Call("add", {"a": 2, "b": 3}, id="call_abc")]), Reply(text="2 + 3 = 5."))
    _, recorded = ask.traced("Add 2 and 3.", tools=[add], api=api, temperature=0.0)
    assert [turn.tool_calls[0].name for turn in to_script(recorded)[:1]] == ["add"]
    with cassette(recorded) as played:
        _, replayed = ask.traced("Add 2 and 3.", tools=[add], api=api, temperature=0.0)
    same_call(recorded, replayed)
    assert played.engine.pending == 0  # every recorded reply was used


CALLS = {
    "smollm2_tool_call_native.json": lambda: ask.traced(
        "What is 2 + 3? Use the add tool.", tools=[add], max_tokens=64, temperature=0.0
    ),
    "smollm2_typed_output_native.json": lambda: ask.traced(
        "Describe Paris.", output=City, max_tokens=64, temperature=0.0
    ),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_recorded_embedded_model_session_replays_exactly(name: str) -> None:
    recorded = Trace.from_json((CASSETTES / name).read_text())
    with cassette(CASSETTES / name):
        _, replayed = CALLS[name]()
    same_call(recorded, replayed)


def test_a_recorded_stream_replays_as_a_stream() -> None:
    recorded = Trace.from_json((CASSETTES / "smollm2_stream_openai_chat.json").read_text())
    with cassette(recorded):
        stream = ask.stream("Name a colour.", max_tokens=12, api="openai_chat", temperature=0.0)
        text = "".join(stream)
    assert text == recorded.result and recorded.stream
    same_call(recorded, stream.trace)
