"""Per-tool timeouts, the trace's string cap and history length, and headers that reach the server but never the trace."""

from __future__ import annotations

import asyncio
import time

import pytest
from wire_shapes import tool_result_texts

import alloy_nb
from alloy_nb import ConfigurationError, OllamaUnavailable, ask, tool
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply

SECRET = "Bearer sk-very-secret-123"


@tool(timeout=0.2)
def hangs(seconds: float) -> str:
    """Sleep."""
    time.sleep(seconds)
    return "woke up"


@tool
async def hangs_async(seconds: float) -> str:
    """Sleep without blocking."""
    await asyncio.sleep(seconds)
    return "woke up"


def test_a_hanging_tool_is_abandoned_and_the_model_told(server, api: str) -> None:
    server.script(Reply(tool_calls=[Call("hangs", {"seconds": 5})]), Reply(text="gave up"))
    started = time.perf_counter()
    value, trace = ask.traced("Wait", tools=[hangs], api=api)
    assert value == "gave up" and time.perf_counter() - started < 2
    assert tool_result_texts(server.requests[1].body, api) == [
        "Error: Tool 'hangs' did not finish within 0.2s and was abandoned (it may still be running)."
    ]
    assert trace.tool_events[0].error.startswith("Tool 'hangs' did not finish within 0.2s")


async def test_configured_tool_timeout_applies_to_async_tools(server, api: str) -> None:
    server.script(Reply(tool_calls=[Call("hangs_async", {"seconds": 5})]), Reply(text="ok"))
    started = time.perf_counter()
    _, trace = await ask.traced_async("Wait", tools=[hangs_async], api=api, tool_timeout=0.2)
    assert time.perf_counter() - started < 2
    assert "did not finish within 0.2s" in trace.tool_events[0].error


def test_huge_reply_and_tool_result_are_complete_for_the_caller_and_capped_in_the_trace(server, api: str) -> None:
    @tool
    def dump() -> str:
        """A big result."""
        return "r" * 3_000_000

    huge = "x" * 10_000_000
    server.script(
        Reply(tool_calls=[Call("dump", {})]),
        Reply(chunks=[huge[i : i + 1_000_000] for i in range(0, len(huge), 1_000_000)]),
    )
    started = time.perf_counter()
    value, trace = ask.traced("Big", tools=[dump], api=api, trace_max_chars=1000)
    assert value == huge  # the caller gets everything
    assert time.perf_counter() - started < 20
    cut = "more characters not kept in the trace; trace_max_chars=1000"
    assert trace.responses[-1].text.startswith("x" * 1000) and cut in trace.responses[-1].text
    assert cut in trace.tool_events[0].result and len(trace.tool_events[0].result) < 1200
    [kept] = tool_result_texts(trace.requests[1].body, api)
    assert cut in kept
    assert len(trace.to_json()) < 50_000


def test_headers_reach_the_server_but_not_traces_reprs_or_errors(server, api: str) -> None:
    server.script(Reply(tool_calls=[Call("missing_tool", {})]), Reply(text="ok"))
    alloy_nb.configure(headers={"Authorization": SECRET})
    value, trace = ask.traced("Hi", api=api, tools=[hangs])
    assert value == "ok"
    assert all(r.headers.get("authorization") == SECRET for r in server.requests)
    config = alloy_nb._config.current()
    shown = [trace.to_json(), trace.summary(), trace._repr_html_(), repr(trace), repr(config), str(config)]
    assert not any("sk-very-secret" in text for text in shown)
    with pytest.raises(OllamaUnavailable) as info:
        ask("Hi", api=api, host="http://user:hunter2@127.0.0.1:9")
    everything = str(info.value) + info.value.trace.to_json()
    assert "hunter2" not in everything and "sk-very-secret" not in everything and "***@127.0.0.1:9" in everything


def test_native_only_options_still_refused_with_headers(server) -> None:
    with pytest.raises(ConfigurationError) as info:
        ask("Hi", api="openai_chat", headers={"Authorization": SECRET}, extra={"ollama_options": {"num_ctx": 1}})
    assert "sk-very-secret" not in str(info.value)


def test_trace_history_keeps_the_configured_number_of_traces(server, api: str) -> None:
    traces = [ask.traced(f"Call {n}", api=api, trace_history=3).trace for n in range(5)]
    assert alloy_nb.recent_traces() == traces[-3:]
    assert alloy_nb.last_trace() is traces[-1]
    ask("Unrecorded", api=api, trace_history=0)
    assert alloy_nb.recent_traces() == [] and alloy_nb.last_trace() is None
    assert ask.traced("Still traced", api=api, trace_history=0).trace.status == "ok"  # the call's own trace stays
