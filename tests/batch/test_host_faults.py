"""`map` over a healthy host and one that fails below the API: the faulty host cools down and every item
finishes on the healthy one."""

from __future__ import annotations

import pytest
from odd_hosts import login_page, trickling
from wire_shapes import tool_result_texts

from alloy_nb import Tool, ask, command, tool
from alloy_nb._choices import STRATEGIES
from alloy_nb.testing import ScriptedEngine, ScriptedToolCall, ScriptedTurn as Reply, ServerThread

PROMPTS = [f"item {i}" for i in range(8)]


def _counting_add() -> tuple[Tool, list[tuple[int, int]]]:
    """An `add` tool and the list of the arguments it ran with."""
    runs: list[tuple[int, int]] = []

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        runs.append((a, b))
        return a + b

    return add, runs


@pytest.mark.parametrize("api", STRATEGIES)
def test_items_leave_a_host_that_trickles_its_reply(api: str) -> None:
    with trickling(interval=0.3).running() as bad, ServerThread(ScriptedEngine()) as good:
        result = ask.map(PROMPTS, hosts=[bad.url, good.url], timeout=1, api=api, progress=False)
    assert len(result.ok) == len(PROMPTS), result.summary()
    assert {slot.host for slot in result.items} == {good.url}
    assert bad.paths and result.wall_s < 4  # items sent to it were given up at the timeout, not held


@pytest.mark.parametrize("api", STRATEGIES)
def test_items_leave_a_host_that_answers_a_login_page(api: str) -> None:
    with login_page().running() as bad, ServerThread(ScriptedEngine()) as good:
        result = ask.map(PROMPTS, hosts=[bad.url, good.url], api=api, progress=False)
    assert len(result.ok) == len(PROMPTS), result.summary()
    assert {slot.host for slot in result.items} == {good.url}
    moved = [slot for slot in result.items if slot.attempts > 1]
    assert moved and len(bad.paths) == len(moved)  # each item it got moved on; then it was cooling down


@pytest.mark.parametrize("api", STRATEGIES)
def test_a_host_failing_in_the_middle_of_a_tool_loop_moves_the_request_and_runs_no_tool_again(api: str) -> None:
    add, runs = _counting_add()
    bad_engine, good_engine = ScriptedEngine(), ScriptedEngine()
    bad_engine.script(
        Reply(tool_calls=[ScriptedToolCall("add", {"a": 2, "b": 3})]), Reply(status=503, error="overloaded")
    )
    good_engine.script(Reply(text="5"))
    with ServerThread(bad_engine) as bad, ServerThread(good_engine) as good:
        result = ask.map(["Add 2 and 3."], tools=[add], hosts=[bad.url, good.url], api=api, progress=False)
    assert result.values == ["5"], result.summary()
    assert runs == [(2, 3)]  # the tool ran once: its result went on with the conversation
    assert len(bad_engine.requests) == 2 and len(good_engine.requests) == 1
    assert tool_result_texts(good_engine.requests[0].body, api) == ["5"]  # the failed request, sent again
    item = result.items[0]
    assert item.host == good.url and item.attempts == 2
    assert item.trace is not None and item.trace.host == good.url
    assert [event.turn for event in item.trace.requests] == [0, 1, 1]
    assert [(r.scope, r.error.type) for r in item.trace.retries] == [("request", "ServerError")]
    assert any("sent again to" in warning for warning in item.trace.warnings)


def test_a_command_whose_prompt_makes_a_call_first_still_moves_its_own_call() -> None:
    add, runs = _counting_add()
    bad_engine, good_engine, other_engine = ScriptedEngine(), ScriptedEngine(), ScriptedEngine()
    bad_engine.script(
        Reply(tool_calls=[ScriptedToolCall("add", {"a": 2, "b": 3})]), Reply(status=503, error="overloaded")
    )
    good_engine.script(Reply(text="5"))
    with ServerThread(bad_engine) as bad, ServerThread(good_engine) as good, ServerThread(other_engine) as other:

        @command(tools=[add])
        async def total(question: str) -> str:
            await ask.async_("Warm up.", host=other.url)  # a call of the prompt's own, before the item's
            return question

        result = total.map(["Add 2 and 3."], hosts=[bad.url, good.url], progress=False)
    assert result.values == ["5"], result.summary()
    assert runs == [(2, 3)] and len(other_engine.requests) == 1
    assert tool_result_texts(good_engine.requests[0].body, "native") == ["5"]  # the failed request, sent again
    item = result.items[0]
    assert item.host == good.url == item.trace.host and item.attempts == 2


def test_the_same_host_twice_is_one_host_whose_request_is_sent_again() -> None:
    add, runs = _counting_add()
    engine = ScriptedEngine()
    engine.script(
        Reply(tool_calls=[ScriptedToolCall("add", {"a": 2, "b": 3})]),
        Reply(status=503, error="overloaded"),
        Reply(text="5"),
    )
    with ServerThread(engine) as server:
        same = [server.url, server.url.removeprefix("http://")]  # one host, written two ways
        result = ask.map(["Add 2 and 3."], tools=[add], hosts=same, progress=False)
    assert result.values == ["5"], result.summary()
    assert runs == [(2, 3)] and len(engine.requests) == 3
    assert [(r.scope, r.attempt) for r in result.items[0].trace.retries] == [("request", 1)]
