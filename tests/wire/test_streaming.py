"""Text streaming, sync and async, through every strategy."""

from __future__ import annotations

import asyncio
import time

from sample_tools import add
from wire_shapes import conversation, message

from alloy_nb import ask, command
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply


def test_sync_stream_yields_pieces_and_records_the_trace(server, api: str) -> None:
    server.script(Reply(chunks=["Once ", "upon ", "a ", "time."]))
    stream = ask.stream("Tell a story", api=api)
    pieces = list(stream)
    assert pieces == ["Once ", "upon ", "a ", "time."]
    trace = stream.trace
    assert trace.stream and trace.status == "ok" and trace.result == "Once upon a time."
    assert trace.requests[0].body == server.requests[0].body
    assert trace.requests[0].body["stream"] is True
    response = trace.responses[0]
    assert response.text == "Once upon a time." and response.ttft_s is not None
    assert response.usage.completion_tokens


async def test_async_stream(server, api: str) -> None:
    server.script(Reply(chunks=["a", "b", "c"]))
    stream = ask.stream_async("abc", api=api)
    assert [piece async for piece in stream] == ["a", "b", "c"]
    assert stream.trace.result == "abc" and stream.trace.requests[0].body == server.requests[0].body


async def test_async_stream_closed_early(server, api: str) -> None:
    server.script(Reply(chunks=[f"w{i} " for i in range(50)], chunk_delay=0.05))
    stream = ask.stream_async("Long", api=api)
    assert await stream.__anext__() == "w0 "
    await stream.aclose()
    assert stream.trace.status == "interrupted" and stream.trace.responses[0].text == "w0 "


async def test_cancelling_the_task_reading_an_async_stream_closes_its_request(server, api: str) -> None:
    server.script(Reply(chunks=[f"w{i} " for i in range(50)], chunk_delay=0.05))
    stream = ask.stream_async("Long", api=api)
    first = asyncio.Event()

    async def read() -> None:
        async for _ in stream:
            first.set()

    reader = asyncio.create_task(read())
    await asyncio.wait_for(first.wait(), 5)
    reader.cancel()
    await asyncio.wait([reader])
    deadline = time.monotonic() + 1.0  # the 50-chunk reply would take 2.5 s more
    while server.engine.active and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert reader.cancelled()
    assert server.engine.active == 0, "cancelling the reading task did not close the request"
    assert stream.trace.status == "interrupted" and stream.trace.responses[0].text.startswith("w0 ")
    assert [task for task in asyncio.all_tasks() if task is not asyncio.current_task()] == []  # none left reading
    server.script(Reply(text="next call works"))
    assert await ask.async_("Hi", api=api) == "next call works"


def test_command_stream(server, api: str) -> None:
    @command(api=api)
    def poem(topic: str) -> str:
        return f"A poem about {topic}"

    server.script(Reply(text="Roses are red"))
    assert "".join(poem.stream("roses")) == "Roses are red"
    assert conversation(server.requests[0].body, api)[-1] == message(api, "user", "A poem about roses")


def test_closing_a_stream_early_marks_the_trace_interrupted_and_keeps_the_text(server, api: str) -> None:
    server.script(Reply(chunks=[f"w{i} " for i in range(50)], chunk_delay=0.05))
    stream = ask.stream("Long", api=api)
    first = [next(stream), next(stream)]
    assert server.engine.active == 1
    stream.close()
    deadline = time.monotonic() + 1.0  # the 50-chunk reply would take 2.5 s more
    while server.engine.active and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.engine.active == 0, "closing the stream did not close the request"
    assert stream.trace.status == "interrupted"
    assert stream.trace.responses[0].text == "".join(first)
    server.script(Reply(text="next call works"))
    assert ask("Hi", api=api) == "next call works"


def test_a_typed_command_with_tools_streams_its_json_and_gives_the_value(server, api: str) -> None:
    @command(api=api, output=int, tools=[add])
    def typed() -> str:
        return "x"

    server.script(Reply(tool_calls=[Call("add", {"a": 2, "b": 3})]), Reply(chunks=['{"value"', ": ", "5}"]))
    stream = typed.stream()
    assert list(stream) == ['{"value"', ": ", "5}"]  # an int is asked for wrapped in a record
    assert stream.value == 5 == stream.partial and stream.trace.status == "ok"
    assert [e.result for e in stream.trace.tool_events] == ["5"] and len(server.requests) == 2


async def test_an_async_stream_closed_before_it_is_read_says_interrupted(server, api: str) -> None:
    stream = ask.stream_async("Never read", api=api)
    await stream.aclose()
    assert stream.trace.status == "interrupted" and server.requests == []


async def test_closing_an_async_commands_events_closes_its_call(server, api: str) -> None:
    @command(api=api)
    async def count() -> str:
        return "Count on."

    server.script(Reply(chunks=[f"w{i} " for i in range(50)], chunk_delay=0.05))
    stream = count.stream()
    events = stream.events()
    async for kind, _ in events:
        if kind == "text":
            break
    await events.aclose()
    deadline = time.monotonic() + 1.0  # the 50-chunk reply would take 2.5 s more
    while server.engine.active and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert server.engine.active == 0 and stream.trace.status == "interrupted"
