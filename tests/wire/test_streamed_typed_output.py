"""Typed outputs stream, through every strategy, sync and async: the JSON as text pieces, `.partial`
filling in as it grows, `.value` the value the call without `.stream` returns, the trace a whole
call's apart from timings, and the finalize turn when the reply does not validate."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sample_tools import add
from sample_types import Invoice, LineItem, Order
from trace_support import untimed
from wire_shapes import conversation, output_schema

from alloy_nb import ask, command
from alloy_nb._outputs import output_spec
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply

ORDER = Order(number="A-1", items=[LineItem(name="pen", qty=2), LineItem(name="ink", qty=1)])
CHUNKS = [
    '{"number": "A',
    '-1", "items": [',
    '{"name": "pen", ',
    '"qty": 2}, ',
    '{"name": "in',
    'k", "qty": 1}',
    "]}",
]


def extends(before: Any, after: Any) -> bool:
    """`after` is `before` filled in further: strings longer, lists and records with more or fuller entries."""
    if isinstance(before, str):
        return isinstance(after, str) and after.startswith(before)
    if isinstance(before, list):
        return isinstance(after, list) and len(after) >= len(before) and all(map(extends, before, after))
    if isinstance(before, dict):
        return isinstance(after, dict) and all(key in after and extends(before[key], after[key]) for key in before)
    return bool(before == after)


def assert_fills_in(partials: list[Any]) -> None:
    """Each partial value extends the one before it, and they end with the whole order."""
    shown = [partial.model_dump() for partial in partials if partial is not None]
    assert len({repr(value) for value in shown}) >= 4, shown  # several distinct steps, not one jump
    assert all(extends(a, b) for a, b in itertools.pairwise(shown)), shown
    assert partials[-1] == ORDER


def test_a_typed_stream_gives_the_json_and_a_growing_partial_value(server, api: str) -> None:
    server.script(Reply(chunks=CHUNKS))
    stream = ask.stream("The order?", output=Order, api=api)
    assert stream.partial is None  # nothing has arrived
    pieces, partials = [], []
    for piece in stream:
        pieces.append(piece)
        partials.append(stream.partial)
    assert pieces == CHUNKS and stream.text == "".join(CHUNKS)
    assert_fills_in(partials)
    assert stream.value == ORDER == stream.partial and stream.trace.result == ORDER.model_dump()
    body = server.requests[0].body
    assert body["stream"] is True and output_schema(body, api) == output_spec(Order).schema
    server.script(Reply(chunks=CHUNKS))
    assert ask("The order?", output=Order, api=api) == stream.value


async def test_an_async_typed_stream_gives_the_json_and_a_growing_partial_value(server, api: str) -> None:
    server.script(Reply(chunks=CHUNKS))
    stream = ask.stream_async("The order?", output=Order, api=api)
    pieces, partials = [], []
    async for piece in stream:
        pieces.append(piece)
        partials.append(stream.partial)
    assert pieces == CHUNKS
    assert_fills_in(partials)
    assert stream.value == ORDER and stream.trace.status == "ok"


@pytest.mark.parametrize("streamed", ["sync", "async"])
async def test_a_typed_tool_loops_trace_is_a_whole_calls_apart_from_timings(server, api: str, streamed: str) -> None:
    turns = (Reply(tool_calls=[Call("add", {"a": 1, "b": 1}, id="call_add")]), Reply(chunks=CHUNKS))
    server.script(*turns)
    whole, whole_trace = ask.traced("The order?", output=Order, tools=[add], api=api)
    server.script(*turns)
    stream: Any
    if streamed == "sync":
        stream = ask.stream("The order?", output=Order, tools=[add], api=api)
        assert "".join(stream) == "".join(CHUNKS)
    else:
        stream = ask.stream_async("The order?", output=Order, tools=[add], api=api)
        assert "".join([piece async for piece in stream]) == "".join(CHUNKS)
    assert stream.value == whole == ORDER
    assert untimed(stream.trace) == untimed(whole_trace)
    assert [r.ttft_s is not None for r in stream.trace.responses] == [False, True]  # the JSON turn's chunk timing


@pytest.mark.parametrize("streamed", ["sync", "async"])
async def test_a_streamed_reply_that_does_not_validate_gets_the_finalize_turn(server, api: str, streamed: str) -> None:
    turns = (Reply(chunks=['{"number": ', '"A1"}']), Reply(chunks=['{"number": "A1", ', '"total": 12.5}']))
    server.script(*turns)
    _, whole_trace = ask.traced("The invoice?", output=Invoice, api=api)
    server.script(*turns)
    stream: Any
    partials = []
    if streamed == "sync":
        stream = ask.stream("The invoice?", output=Invoice, api=api)
        for _ in stream:
            partials.append(stream.partial)
    else:
        stream = ask.stream_async("The invoice?", output=Invoice, api=api)
        async for _ in stream:
            partials.append(stream.partial)
    assert stream.value == Invoice(number="A1", total=12.5)
    assert partials == [None, None, None, Invoice(number="A1", total=12.5)]  # the first reply never validated
    assert [request.finalize for request in stream.trace.requests] == [False, True]
    finalize = server.requests[-1].body
    assert finalize["stream"] is True and "Now give your final answer." in conversation(finalize, api)[-1]["content"]
    assert untimed(stream.trace) == untimed(whole_trace)


def test_a_typed_commands_stream(server, api: str) -> None:
    @command(output=Order, api=api)
    def order(number: str) -> str:
        return f"Order {number}?"

    server.script(Reply(chunks=CHUNKS))
    stream = order.stream("A-1")
    assert list(stream) == CHUNKS and stream.value == ORDER == stream.partial


async def test_an_async_typed_commands_stream(server, api: str) -> None:
    @command(output=Order, api=api)
    async def order(number: str) -> str:
        return f"Order {number}?"

    server.script(Reply(chunks=CHUNKS))
    stream = order.stream("A-1")
    assert stream.partial is None  # the prompt is awaited on the first iteration
    partials = []
    async for _ in stream:
        partials.append(stream.partial)
    assert_fills_in(partials)
    assert stream.value == ORDER and stream.trace is not None and stream.trace.status == "ok"
