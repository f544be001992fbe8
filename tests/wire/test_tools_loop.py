"""The tool loop through every strategy: wire formats, failures fed back, limits and concurrency."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Literal

import ollama
import pytest
from sample_tools import add
from wire_shapes import output_schema, tool_result_texts, tool_results, tool_spec

import alloy_nb
from alloy_nb import ToolLoopLimitExceeded, ask, command, tool
from alloy_nb._config import current
from alloy_nb._messages import SystemMessage, ToolCall, ToolResult, UserMessage
from alloy_nb._outputs import output_spec
from alloy_nb._strategies import Exchange
from alloy_nb._strategies.base import Outgoing, Turn
from alloy_nb._strategies.native import NativeStrategy
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply


@tool
def fail(reason: str) -> str:
    """Always raises."""
    raise ValueError(f"cannot do {reason}")


def test_single_tool_call_round_trip(server, api: str) -> None:
    server.script(Reply(tool_calls=[Call("add", {"a": 2, "b": 3})]), Reply(text="The sum is 5."))
    value, trace = ask.traced("What is 2 + 3?", tools=[add], api=api)
    assert value == "The sum is 5."
    first, second = (r.body for r in server.requests)
    assert tool_spec(first, api)["name"] == "add"
    assert tool_spec(first, api)["parameters"]["properties"]["a"]["type"] == "integer"
    [result] = tool_results(second, api)
    assert tool_result_texts(second, api) == ["5"]
    [call] = trace.responses[0].tool_calls
    assert call.name == "add"
    if api == "native":
        assert result == {"role": "tool", "tool_name": "add", "content": "5"}
        assert second["messages"][1]["tool_calls"] == [{"function": {"name": "add", "arguments": {"a": 2, "b": 3}}}]
    elif api == "openai_chat":
        assert result == {"role": "tool", "tool_call_id": call.id, "content": "5"}
        assert call.id and second["messages"][1]["tool_calls"][0]["id"] == call.id
        assert json.loads(second["messages"][1]["tool_calls"][0]["function"]["arguments"]) == {"a": 2, "b": 3}
    else:
        assert result == {"type": "function_call_output", "call_id": call.id, "output": "5"}
        asked = second["input"][1]
        assert call.id and (asked["type"], asked["call_id"], asked["name"]) == ("function_call", call.id, "add")
        assert json.loads(asked["arguments"]) == {"a": 2, "b": 3}
    [event] = trace.tool_events
    assert (event.name, event.result, event.error) == ("add", "5", None)
    assert [r.body for r in trace.requests] == [first, second]


def test_multi_turn_tools_then_typed_answer(server, api: str) -> None:
    server.script(
        Reply(tool_calls=[Call("add", {"a": 1, "b": 2})]),
        Reply(tool_calls=[Call("add", {"a": 3, "b": 4})]),
        Reply(text="Sum is 10."),
        Reply(text='{"value": 10}'),
    )

    @command(output=int, tools=[add], api=api)
    def total() -> str:
        return "Add 1+2, then 3+4, then give the total."

    value, trace = total.traced()
    assert value == 10
    assert [e.result for e in trace.tool_events] == ["3", "7"]
    assert [r.finalize for r in trace.requests] == [False, False, False, True]
    finalize_body = trace.requests[-1].body
    assert not finalize_body.get("tools")
    assert output_schema(finalize_body, api) == output_spec(int).schema
    # typed output is not constrained while tools are offered: the model must stay free to call them
    assert output_schema(trace.requests[0].body, api) is None


def test_parallel_tool_calls_in_one_turn(server, api: str) -> None:
    server.script(
        Reply(tool_calls=[Call("add", {"a": 1, "b": 1}), Call("add", {"a": 2, "b": 2})]),
        Reply(text="2 and 4"),
    )
    value, trace = ask.traced("Two sums", tools=[add], api=api)
    assert value == "2 and 4"
    body = server.requests[1].body
    assert tool_result_texts(body, api) == ["2", "4"]
    if api != "native":  # the native API matches results to calls by order and name
        ids = [c.id for c in trace.responses[0].tool_calls]
        key = "call_id" if api == "openai_responses" else "tool_call_id"
        assert len(set(ids)) == 2 and [r[key] for r in tool_results(body, api)] == ids


async def test_async_runs_independent_tool_calls_concurrently(server, api: str) -> None:
    @tool
    async def slow(n: int) -> int:
        """Sleep, then echo."""
        await asyncio.sleep(0.3)
        return n

    @tool
    def slow_sync(n: int) -> int:
        """Blocking sleep, then echo."""
        time.sleep(0.3)
        return n

    server.script(
        Reply(
            tool_calls=[
                Call("slow", {"n": 1}),
                Call("slow", {"n": 2}),
                Call("slow_sync", {"n": 3}),
                Call("slow_sync", {"n": 4}),
            ]
        ),
        Reply(text="done"),
    )
    started = time.perf_counter()
    value, trace = await ask.traced_async("Go", tools=[slow, slow_sync], api=api)
    elapsed = time.perf_counter() - started
    assert value == "done"
    assert [e.result for e in trace.tool_events] == ["1", "2", "3", "4"]
    assert elapsed < 0.9, f"four 0.3 s tools took {elapsed:.2f}s: not concurrent"


async def test_tool_concurrency_is_bounded(server) -> None:
    running = 0
    peak = 0

    @tool
    async def probe(n: int) -> int:
        """Track concurrency."""
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1
        return n

    server.script(Reply(tool_calls=[Call("probe", {"n": i}) for i in range(6)]), Reply(text="ok"))
    await ask.async_("Go", tools=[probe], tool_concurrency=2)
    assert peak == 2


def test_tool_that_raises_is_reported_to_the_model(server, api: str) -> None:
    server.script(Reply(tool_calls=[Call("fail", {"reason": "magic"})]), Reply(text="Sorry, that failed."))
    value, trace = ask.traced("Do magic", tools=[fail], api=api)
    assert value == "Sorry, that failed."
    assert tool_result_texts(server.requests[1].body, api) == ["Error: Tool 'fail' raised ValueError: cannot do magic"]
    assert trace.tool_events[0].error == "Tool 'fail' raised ValueError: cannot do magic"


def test_unknown_tool_is_reported_with_the_available_names(server, api: str) -> None:
    server.script(Reply(tool_calls=[Call("multiply", {"a": 2, "b": 3})]), Reply(text="ok"))
    ask("Multiply", tools=[add], api=api)
    [result] = tool_result_texts(server.requests[1].body, api)
    assert result == "Error: There is no tool named 'multiply'. Available tools: add."


def test_arguments_failing_validation_are_reported(server, api: str) -> None:
    server.script(Reply(tool_calls=[Call("add", {"a": "two", "b": 3})]), Reply(text="ok"))
    _, trace = ask.traced("Add", tools=[add], api=api)
    [result] = tool_result_texts(server.requests[1].body, api)
    assert result.startswith("Error: Invalid arguments for tool 'add': a: Input should be a valid integer")
    arguments = trace.tool_events[0].arguments
    assert (arguments if api == "native" else json.loads(arguments)) == {"a": "two", "b": 3}


@pytest.mark.parametrize("api", ["openai_chat", "openai_responses"])  # the native API sends arguments as an object
def test_unparseable_arguments_are_reported(server, api: str) -> None:
    server.script(Reply(tool_calls=[Call("add", '{"a": 2, "b": ')]), Reply(text="ok"))
    value, trace = ask.traced("Add", tools=[add], api=api)
    assert value == "ok"
    [result] = tool_result_texts(server.requests[1].body, api)
    assert result.startswith("Error: Tool 'add': The arguments are not valid JSON")
    assert trace.tool_events[0].arguments == '{"a": 2, "b": '


def test_loop_limit(server, api: str) -> None:
    server.script(*[Reply(tool_calls=[Call("add", {"a": i, "b": i})]) for i in range(3)])
    with pytest.raises(ToolLoopLimitExceeded, match=r"still asked for tools \(add\) after 2 tool turns") as info:
        ask("Loop forever", tools=[add], api=api, max_tool_turns=2)
    trace = info.value.trace
    assert len(trace.responses) == 3 and len(trace.tool_events) == 2
    assert trace.status == "error" and trace.error.type == "ToolLoopLimitExceeded"
    # the adapter is usable for the next call
    server.script(Reply(text="fine"))
    assert ask("Hi", api=api) == "fine"


def test_plain_function_as_tool(server, api: str) -> None:
    def shout(word: str) -> str:
        """Upper-case a word."""
        return word.upper()

    server.script(Reply(tool_calls=[Call("shout", {"word": "hey"})]), Reply(text="HEY"))
    ask("Shout hey", tools=[shout], api=api)
    assert tool_result_texts(server.requests[1].body, api) == ["HEY"]
    assert alloy_nb.last_trace().tools == ["shout"]


@tool
def lookup(city: str, days: int = 1, unit: Literal["C", "F"] = "C", tags: list[str] | None = None) -> str:
    """Look a city up.

    Args:
        city: where
        days: how many days
    """
    return city


def test_the_exchange_holds_what_the_server_received(server) -> None:
    """Native goes through the SDK's public chat(); the exchange is what reached the server, key order included."""
    config = current(
        host=server.url,
        temperature=0.0,
        max_tokens=9,
        extra={"ollama_options": {"num_ctx": 2048, "keep_alive": "1m", "think": False}},
    )
    strategy = NativeStrategy(config)
    turn = Turn(text="", thinking="hm", tool_calls=[ToolCall(id="call_0", name="lookup", arguments={"city": "Oslo"})])
    messages = [
        SystemMessage(text="Be brief."),
        UserMessage(text="Weather?"),
        turn.message(),
        ToolResult(call_id="call_0", name="lookup", text="rain"),
    ]
    for request in (
        strategy.request(Outgoing(messages, [lookup], output_spec(str), stream=False)),
        strategy.request(Outgoing(messages[:2], [], output_spec(dict[str, int]), stream=False)),
    ):
        server.engine.reset()
        exchange = Exchange()
        strategy.send(request, exchange)
        ollama.Client(host=server.url).chat(**request)
        ours, sdk = (json.dumps(r.body) for r in server.requests)
        assert ours == sdk == json.dumps(exchange.sent.body)
        assert exchange.sent.url == f"{server.url}/api/chat" and exchange.reply["done"] is True


def test_tool_calls_past_the_per_turn_cap_are_not_run_and_the_model_is_told(server) -> None:
    runs: list[int] = []

    @tool
    def count(n: int) -> int:
        """Count."""
        runs.append(n)
        return n

    server.script(Reply(tool_calls=[Call("count", {"n": n}) for n in range(5000)]), Reply(text="done"))
    value, trace = ask.traced("Count a lot.", tools=[count], max_tool_calls=3, max_tool_turns=1)
    assert value == "done" and runs == [0, 1, 2] and len(trace.tool_events) == 3
    results = tool_result_texts(server.requests[1].body, "native")
    assert len(results) == 5000 and results[:3] == ["0", "1", "2"]
    assert results[3] == "Error: not run; at most 3 tool calls run per turn. Ask again for what is still needed."
