"""One bound for nesting: replies and tool arguments past it are refused with a message naming it,
and the trace stays serialisable and honest about the outcome."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from alloy_nb import CommandError, ask, tool
from alloy_nb._choices import STRATEGIES
from alloy_nb._nesting import MAX_NESTING
from alloy_nb._trace import Trace
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply


class Node(BaseModel):
    child: Node | None = None


def nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels - 1):
        value = {"child": value}
    return value


def test_a_reply_at_the_limit_is_read(server) -> None:
    server.script(Reply(text=json.dumps(nested(MAX_NESTING))))
    value, trace = ask.traced("Nest.", output=Node)
    assert isinstance(value, Node) and trace.status == "ok"
    assert Trace.from_json(trace.to_json()).status == "ok"


@pytest.mark.parametrize("reply", [json.dumps(nested(170)), "[" * 300 + "]" * 300])
def test_a_reply_past_the_limit_is_a_command_error_naming_it(server, reply: str) -> None:
    server.script(Reply(text=reply), Reply(text=reply))
    with pytest.raises(
        CommandError, match=rf"nested \d+ levels deep; alloy_nb reads at most {MAX_NESTING} levels"
    ) as refused:
        ask("Nest.", output=Node if reply.startswith("{") else list)
    trace = refused.value.trace
    assert trace.status == "error" and Trace.from_json(trace.to_json()).status == "error"


@pytest.mark.parametrize("api", STRATEGIES)
def test_tool_arguments_past_the_limit_go_back_to_the_model_and_the_trace_still_serialises(server, api: str) -> None:
    @tool
    def store(data: dict) -> str:
        """Store data."""
        return "stored"

    server.script(Reply(tool_calls=[Call("store", {"data": nested(900)})]), Reply(text="I will nest less."))
    value, trace = ask.traced("Store it.", tools=[store], api=api)
    assert value == "I will nest less."
    assert (
        trace.tool_events[0].error
        == f"Tool 'store': The arguments are nested 901 levels deep; tools take at most {MAX_NESTING} levels."
    )
    # the wire bodies are kept as JSON however deep they nest (deeper than pydantic-core's parser goes)
    assert all(isinstance(r.body, dict) for r in trace.requests)
    assert all(isinstance(r.raw, dict) for r in trace.responses)
    text = trace.to_json()
    if api == "native":  # (openai_chat carries arguments as a JSON string, kept as it came)
        assert f"nested deeper than {MAX_NESTING} levels: not kept" in text
    assert Trace.from_json(text).status == "ok"
    assert "The arguments are nested 901 levels deep" in trace._repr_html_()
