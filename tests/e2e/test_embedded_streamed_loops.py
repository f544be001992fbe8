"""Streamed tool loops and streamed typed outputs on the real embedded SmolLM2, every strategy, end to end.

The embedded server constrains a reply to tools with a grammar: an envelope of calls to declared tools with
arguments that fit their schemas, or text, and once every tool has been called, text only. A typed reply
follows the output's schema. So these tests assert what the grammar guarantees (a call's shape, that the
turn after it is text, that the JSON validates), never SmolLM2's wording or its numbers.
"""

from __future__ import annotations

import json
from typing import Any

from sample_types import Order
from wire_shapes import output_schema, tool_result_texts

from alloy_nb import ask, tool
from alloy_nb._messages import ToolCall, ToolResult

CALL_PROMPT = "Use the add tool to compute 2 + 3."  # the prompt SmolLM2 answers with a call at temperature 0
ORDER_PROMPT = "Order A-1: two pens and one bottle of ink. Give the order number and its items."


def _adder(calls: list[tuple[int, int]]) -> Any:
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers and return their sum."""
        calls.append((a, b))
        return a + b

    return add


def _arguments(call: ToolCall) -> dict[str, Any]:
    """A call's arguments as an object (the /v1 APIs carry them as JSON text)."""
    arguments = json.loads(call.arguments) if isinstance(call.arguments, str) else call.arguments
    assert isinstance(arguments, dict)
    return arguments


def _assert_one_call_then_text(trace: Any, api: str, calls: list[tuple[int, int]]) -> tuple[ToolCall, str]:
    """The trace of a streamed loop with one tool: every request streamed, a first reply that is one
    well-formed call, run once with its arguments, its result sent back, then replies of text."""
    assert trace.status == "ok" and trace.stream, trace.summary()
    assert all(request.body["stream"] is True for request in trace.requests)
    # the grammar: one call to the one tool offered; once it was called, only text
    calls_per_reply = [len(response.tool_calls) for response in trace.responses]
    assert calls_per_reply[0] == 1 and calls_per_reply[1:] == [0] * (len(calls_per_reply) - 1) != [], trace.summary()
    [call] = trace.responses[0].tool_calls
    arguments = _arguments(call)
    assert call.name == "add" and set(arguments) == {"a", "b"}
    assert all(type(value) is int for value in arguments.values())  # the tool's schema: integers
    assert calls == [(arguments["a"], arguments["b"])]  # run once, with the arguments gathered from the stream
    result = str(arguments["a"] + arguments["b"])
    assert tool_result_texts(trace.requests[1].body, api) == [result]
    assert [(event.name, event.result, event.error) for event in trace.tool_events] == [("add", result, None)]
    assert trace.responses[1].ttft_s is not None  # the next turn was read as a stream
    return call, result


def test_a_streamed_tool_loop_gathers_the_call_runs_it_and_streams_the_next_turn(api: str) -> None:
    calls: list[tuple[int, int]] = []
    stream = ask.stream(CALL_PROMPT, tools=[_adder(calls)], api=api, max_tokens=96)
    events = list(stream.events())
    kinds = [kind for kind, _ in events]
    assert kinds.count("tool_call") == 1 and kinds.count("tool_result") == 1, events
    announced, ran = kinds.index("tool_call"), kinds.index("tool_result")
    assert announced < ran and set(kinds) <= {"text", "thinking", "tool_call", "tool_result"}
    call, result = _assert_one_call_then_text(stream.trace, api, calls)
    assert events[announced] == ("tool_call", call)
    assert events[ran] == ("tool_result", ToolResult(call_id=call.id, name="add", text=result))
    after = "".join(piece for kind, piece in events[ran + 1 :] if kind == "text")
    assert stream.value == after == stream.trace.responses[1].text  # the answer is the streamed second turn
    assert isinstance(stream.value, str)


async def test_an_async_streamed_tool_loop_runs_its_tool_between_the_turns(api: str) -> None:
    calls: list[tuple[int, int]] = []
    stream = ask.stream_async(CALL_PROMPT, tools=[_adder(calls)], api=api, max_tokens=96)
    pieces = [piece async for piece in stream]
    _assert_one_call_then_text(stream.trace, api, calls)
    assert "".join(pieces) == stream.text and stream.text.endswith(stream.value)


def test_a_typed_streamed_tool_loop_runs_the_tool_then_gives_a_typed_value(api: str) -> None:
    """With tools the grammar is the tool envelope, so the answer may be prose; then the finalize turn, which
    offers no tools, is held to the output's schema. Either way the value is an int."""
    calls: list[tuple[int, int]] = []
    stream = ask.stream(CALL_PROMPT, tools=[_adder(calls)], output=int, api=api, max_tokens=96)
    events = list(stream.events())
    assert [kind for kind, _ in events if kind.startswith("tool")] == ["tool_call", "tool_result"]
    _assert_one_call_then_text(stream.trace, api, calls)
    assert type(stream.value) is int and stream.trace.result == stream.value
    last = stream.trace.requests[-1].body
    if len(stream.trace.requests) > 2:  # a finalize turn: no tools, the schema enforced
        assert not last.get("tools") and output_schema(last, api) is not None
    assert "".join(piece for kind, piece in events if kind == "text") == stream.text


def test_a_streamed_typed_output_fills_in_then_validates(api: str) -> None:
    stream = ask.stream(ORDER_PROMPT, output=Order, api=api, max_tokens=128)
    assert stream.partial is None
    pieces, partials = [], []
    for piece in stream:
        pieces.append(piece)
        partials.append(stream.partial)
    assert len(pieces) > 1 and "".join(pieces) == stream.text  # the JSON came as a stream of pieces
    value = stream.value
    assert isinstance(value, Order) and value == Order.model_validate_json(stream.text)  # the schema's grammar
    assert stream.trace.status == "ok" and len(stream.trace.requests) == 1  # no finalize turn was needed
    assert stream.partial == value
    before_the_end = [partial for partial in partials[:-1] if partial is not None]
    assert before_the_end, "no value so far was shown before the JSON was complete"
    assert all(isinstance(partial, Order) for partial in before_the_end)
    assert all(value.number.startswith(partial.number) for partial in before_the_end)  # it only grows


async def test_an_async_streamed_typed_output_validates(api: str) -> None:
    stream = ask.stream_async(ORDER_PROMPT, output=Order, api=api, max_tokens=128)
    pieces = [piece async for piece in stream]
    assert len(pieces) > 1 and "".join(pieces) == stream.text
    assert isinstance(stream.value, Order) and stream.value == Order.model_validate_json(stream.text)
