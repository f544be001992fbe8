"""`@require` / `@ensure` under `@tool`: checked in Python and inside the tool loop."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from alloy_nb import ContractFailed, ToolError, ask, ensure, require, tool
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply

NO_PINEAPPLE = "Pineapple does not go on pizza; pick another topping."


@tool
@require(lambda ba: ba.arguments["topping"] != "pineapple", NO_PINEAPPLE)
@ensure(lambda result: result.startswith("pizza"), "the order must name a pizza")
def order_pizza(topping: str, size: str = "medium") -> str:
    """Order a pizza."""
    return f"pizza {size} with {topping}" if topping != "nothing" else "a salad"


seen_bound: list[inspect.BoundArguments] = []


@tool
@require(lambda ba: seen_bound.append(ba) or True, "never fails")
def remember_arguments(a: int, b: int = 7) -> int:
    """Add."""
    return a + b


@tool
@require(lambda ba: 1 / 0, "the check itself broke")
def broken_check() -> str:
    """A contract that raises."""
    return "ran"


@tool
@ensure(lambda n: n > 0, "the count must be positive")
async def count_async(n: int) -> int:
    """An async tool with a postcondition."""
    await asyncio.sleep(0)
    return n


def test_require_gets_bound_arguments_with_defaults() -> None:
    seen_bound.clear()
    assert remember_arguments(1) == 8
    [bound] = seen_bound
    assert isinstance(bound, inspect.BoundArguments) and bound.arguments == {"a": 1, "b": 7}


def test_failed_require_raises_tool_error_in_python() -> None:
    with pytest.raises(ToolError, match=r"^Pineapple does not go on pizza") as info:
        order_pizza("pineapple")
    assert isinstance(info.value, ContractFailed) and info.value.kind == "require"
    assert order_pizza("olives") == "pizza medium with olives"


def test_failed_ensure_raises_tool_error_in_python() -> None:
    with pytest.raises(ContractFailed, match=r"^the order must name a pizza$") as info:
        order_pizza("nothing")
    assert info.value.kind == "ensure"


def test_a_predicate_that_raises_counts_as_failed() -> None:
    with pytest.raises(ToolError, match=r"^the check itself broke$"):
        broken_check()


def test_async_tool_checks_ensure_after_awaiting() -> None:
    assert asyncio.run(count_async(3)) == 3
    with pytest.raises(ContractFailed, match="positive"):
        asyncio.run(count_async(0))


def test_contract_written_above_tool_applies_too() -> None:
    @require(lambda ba: ba.arguments["x"] < 10, "x must be below 10")
    @tool
    def small(x: int) -> int:
        """Echo."""
        return x

    assert small(3) == 3
    with pytest.raises(ContractFailed, match="below 10"):
        small(11)


def test_the_model_sees_the_contract_message_and_can_correct_itself(server, api: str) -> None:
    server.script(
        Reply(tool_calls=[Call("order_pizza", {"topping": "pineapple"})]),
        Reply(tool_calls=[Call("order_pizza", {"topping": "olives"})]),
        Reply(text="Ordered olives: pineapple is not allowed."),
    )
    value, trace = ask.traced("Order a pineapple pizza.", tools=[order_pizza], api=api)
    assert value == "Ordered olives: pineapple is not allowed."
    sent = [m["content"] for r in server.requests[1:] for m in r.messages if m["role"] == "tool"]
    assert sent[0] == NO_PINEAPPLE  # the contract's words as they are, as alloy-ai sends them
    assert sent[-1] == "pizza medium with olives"
    failed, passed = trace.tool_events
    assert (failed.contract, failed.error, failed.result) == ("require", NO_PINEAPPLE, None)
    assert (passed.contract, passed.error) == (None, None)
    assert "@require failed" in trace._repr_html_()


def test_ensure_failure_inside_the_loop_is_recorded(server, api: str) -> None:
    server.script(Reply(tool_calls=[Call("order_pizza", {"topping": "nothing"})]), Reply(text="No pizza then."))
    _, trace = ask.traced("Order nothing.", tools=[order_pizza], api=api)
    [event] = trace.tool_events
    assert (event.contract, event.error) == ("ensure", "the order must name a pizza")


def test_contracts_hold_for_async_calls_and_async_tools(server, api: str) -> None:
    server.script(Reply(tool_calls=[Call("count_async", {"n": 0})]), Reply(text="done"))
    _, trace = asyncio.run(ask.traced_async("Count.", tools=[count_async], api=api))
    [event] = trace.tool_events
    assert (event.contract, event.error) == ("ensure", "the count must be positive")
    assert server.requests[1].messages[-1]["content"] == "the count must be positive"


def test_a_plain_function_with_a_contract_is_checked_too(server, api: str) -> None:
    @require(lambda ba: ba.arguments["word"].isalpha(), "letters only")
    def shout(word: str) -> str:
        """Upper-case a word."""
        return word.upper()

    server.script(Reply(tool_calls=[Call("shout", {"word": "h1"})]), Reply(text="ok"))
    _, trace = ask.traced("Shout.", tools=[shout], api=api)
    assert trace.tool_events[0].error == "letters only"
