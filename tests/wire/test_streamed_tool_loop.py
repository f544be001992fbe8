"""Tool loops stream, through every strategy, sync and async: every turn's text as it comes, the tool
calls gathered from the stream (whole on the native API, in OpenAI's fragments on /v1), the tools run
between turns, the trace a whole call's plus chunk timings; a tool call cut short is an error."""

from __future__ import annotations

from typing import Any

import pytest
from sample_tools import add
from trace_support import untimed
from wire_shapes import tool_result_texts

from alloy_nb import CommandError, ServerError, ask, command
from alloy_nb._messages import ToolCall, ToolResult
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply

# OpenAI streams a call's arguments in fragments (these); the native API sends each call whole
ADD = Call("add", id="call_add", pieces=['{"a":', "2,", '"b":3}'])
FIRST = ["Let ", "me ", "add."]
SECOND = ["The ", "sum ", "is ", "5."]


def two_turns(chunk_delay: float = 0.0, thinking: str = "") -> tuple[Reply, Reply]:
    return Reply(chunks=FIRST, tool_calls=[ADD]), Reply(chunks=SECOND, chunk_delay=chunk_delay, thinking=thinking)


def call_of(api: str) -> ToolCall:
    """The call as each strategy gathers it: arguments an object (native) or the JSON text (the /v1 APIs)."""
    if api == "native":
        return ToolCall(id="call_0", name="add", arguments={"a": 2, "b": 3})
    return ToolCall(id="call_add", name="add", arguments='{"a":2,"b":3}')


def test_a_two_turn_tool_loop_streams_the_text_of_each_turn(server, api: str) -> None:
    server.script(*two_turns(chunk_delay=0.02))
    stream = ask.stream("What is 2 + 3?", tools=[add], api=api)
    assert list(stream) == FIRST + SECOND
    assert stream.value == "The sum is 5." and stream.text == "Let me add.The sum is 5."
    first, second = (request.body for request in server.requests)
    assert first["stream"] is True and second["stream"] is True and first["tools"]
    assert tool_result_texts(second, api) == ["5"]
    trace = stream.trace
    assert trace.status == "ok" and trace.result == "The sum is 5." and trace.stream
    assert [r.text for r in trace.responses] == ["Let me add.", "The sum is 5."]
    assert [r.tool_calls for r in trace.responses] == [[call_of(api)], []]
    assert all(r.ttft_s is not None and r.ttft_s <= r.duration_s for r in trace.responses)  # per turn
    assert [(e.name, e.result, e.error) for e in trace.tool_events] == [("add", "5", None)]


async def test_an_async_tool_loop_streams_the_text_of_each_turn(server, api: str) -> None:
    server.script(*two_turns(chunk_delay=0.02))
    stream = ask.stream_async("What is 2 + 3?", tools=[add], api=api)
    assert [piece async for piece in stream] == FIRST + SECOND
    assert stream.value == "The sum is 5." and stream.trace.status == "ok"
    assert [r.text for r in stream.trace.responses] == ["Let me add.", "The sum is 5."]
    assert [e.result for e in stream.trace.tool_events] == ["5"]
    assert tool_result_texts(server.requests[1].body, api) == ["5"]


def test_events_give_text_thinking_tool_calls_and_results_in_order(server, api: str) -> None:
    server.script(*two_turns(thinking="Easy."))
    events = list(ask.stream("What is 2 + 3?", tools=[add], api=api).events())
    call = call_of(api)
    assert events == [
        *(("text", piece) for piece in FIRST),
        ("tool_call", call),
        ("tool_result", ToolResult(call_id=call.id, name="add", text="5")),
        ("thinking", "Easy."),
        *(("text", piece) for piece in SECOND),
    ]


async def test_async_events_announce_a_turns_calls_then_give_their_results(server, api: str) -> None:
    server.script(
        Reply(tool_calls=[Call("add", {"a": 1, "b": 1}, id="c1"), Call("add", {"a": 2, "b": 2}, id="c2")]),
        Reply(chunks=["2 ", "and ", "4"]),
    )
    events = [event async for event in ask.stream_async("Two sums", tools=[add], api=api).events()]
    kinds = [kind for kind, _ in events]
    assert kinds == ["tool_call", "tool_call", "tool_result", "tool_result", "text", "text", "text"]
    assert [item.text for kind, item in events if kind == "tool_result"] == ["2", "4"]


@pytest.mark.parametrize("streamed", ["sync", "async"])
async def test_the_trace_is_a_whole_calls_apart_from_timings(server, api: str, streamed: str) -> None:
    server.script(*two_turns(thinking="Easy."))
    _, whole = ask.traced("What is 2 + 3?", tools=[add], api=api)
    server.script(*two_turns(thinking="Easy."))
    if streamed == "sync":
        stream: Any = ask.stream("What is 2 + 3?", tools=[add], api=api)
        list(stream)
    else:
        stream = ask.stream_async("What is 2 + 3?", tools=[add], api=api)
        [piece async for piece in stream]
    trace = stream.trace
    assert untimed(trace) == untimed(whole)
    assert [r.ttft_s is not None for r in trace.responses] == [True, True]  # plus the chunk timings
    assert trace.responses[1].thinking_s is not None and trace.responses[1].thinking_pieces == 1


@pytest.mark.parametrize("streamed", ["sync", "async"])
async def test_a_tool_call_cut_by_the_connection_is_an_error_and_never_runs(server, api: str, streamed: str) -> None:
    server.script(Reply(chunks=["Let ", "me "], tool_calls=[ADD], close_after_chunks=3))  # cut before the done chunk
    with pytest.raises(ServerError, match=r"while the model was asking for tools \(add\).* none was run") as caught:
        if streamed == "sync":
            stream: Any = ask.stream("What is 2 + 3?", tools=[add], api=api)
            list(stream)
        else:
            stream = ask.stream_async("What is 2 + 3?", tools=[add], api=api)
            [piece async for piece in stream]
    trace = caught.value.trace
    assert trace is stream.trace and trace.status == "error" and caught.value.transient
    assert trace.tool_events == [] and len(server.requests) == 1
    assert [r.text for r in trace.responses] == ["Let me "]  # what arrived is kept


@pytest.mark.parametrize("api", ["openai_chat", "openai_responses"])
@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "whole"])
def test_a_tool_call_cut_by_the_token_limit_is_an_error_and_never_runs(server, api: str, streamed: bool) -> None:
    # only /v1 can send incomplete arguments: the native API sends each call whole, as an object
    server.script(Reply(tool_calls=[Call("add", id="call_add", pieces=['{"a": 2', ', "b": '])], done_reason="length"))
    limit = r"cut off by the token limit \(max_tokens=8\) in the middle of a call to tool 'add'.*Raise max_tokens"
    with pytest.raises(CommandError, match=limit) as caught:
        if streamed:
            list(ask.stream("What is 2 + 3?", tools=[add], api=api, max_tokens=8))
        else:
            ask("What is 2 + 3?", tools=[add], api=api, max_tokens=8)
    assert caught.value.raw_text == '{"a": 2, "b": '
    assert caught.value.trace.tool_events == [] and len(server.requests) == 1


def test_a_commands_stream_runs_its_tools(server, api: str) -> None:
    @command(tools=[add], api=api)
    def total(a: int, b: int) -> str:
        return f"What is {a} + {b}?"

    server.script(*two_turns())
    stream = total.stream(2, 3)
    assert "".join(stream) == "Let me add.The sum is 5." and stream.value == "The sum is 5."
    assert [e.result for e in stream.trace.tool_events] == ["5"]


async def test_an_async_commands_stream_runs_its_tools(server, api: str) -> None:
    @command(tools=[add], api=api)
    async def total(a: int, b: int) -> str:
        return f"What is {a} + {b}?"

    server.script(*two_turns())
    pending = total.stream(2, 3)
    assert [piece async for piece in pending] == FIRST + SECOND
    assert pending.value == "The sum is 5." and [e.result for e in pending.trace.tool_events] == ["5"]
    server.script(*two_turns())
    stream = await total.stream_async(2, 3)
    assert [kind async for kind, _ in stream.events()].count("tool_result") == 1
