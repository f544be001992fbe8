"""@tool: schemas from signatures and docstrings, argument parsing and validation."""

from __future__ import annotations

import asyncio
import datetime
import functools
import threading
import time
import warnings
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from alloy_nb import ConfigurationError, ToolError, ensure, settings, tool
from alloy_nb._config import current
from alloy_nb._tools import as_tools, result_content, tool_call_arguments


@tool
def convert(amount: float, currency: Literal["EUR", "USD"] = "EUR", note: str | None = None) -> dict:
    """Convert an amount of money.

    Args:
        amount: How much, in the source currency.
        currency (str): Target currency.
    """
    return {"amount": amount, "currency": currency, "note": note}


def test_schema_from_signature_and_google_docstring() -> None:
    spec = convert.spec()
    assert spec["type"] == "function"
    function = spec["function"]
    assert function["name"] == "convert"
    assert function["description"] == "Convert an amount of money."
    props = function["parameters"]["properties"]
    assert props["amount"] == {"type": "number", "description": "How much, in the source currency."}
    assert props["currency"]["enum"] == ["EUR", "USD"]
    assert props["currency"]["description"] == "Target currency."
    assert function["parameters"]["required"] == ["amount"]


def test_sphinx_docstring_and_overrides() -> None:
    @tool(name="lookup", description="Find a word.")
    def find(word: str) -> str:
        """:param word: the word to find"""
        return word

    assert find.name == "lookup" and find.description == "Find a word."
    assert find.parameters["properties"]["word"]["description"] == "the word to find"
    assert find("x") == "x"  # still callable as a function


def test_validation_errors_say_what_is_wrong() -> None:
    with pytest.raises(ToolError, match="amount: Input should be a valid number"):
        convert.run({"amount": "lots"})
    with pytest.raises(ToolError, match="Field required"):
        convert.run({})
    with pytest.raises(ToolError, match="Extra inputs are not permitted"):
        convert.run({"amount": 1, "colour": "red"})


def test_run_validates_and_coerces() -> None:
    assert convert.run({"amount": "2.5", "currency": "USD"}) == {"amount": 2.5, "currency": "USD", "note": None}


def test_async_tool_runs_from_sync_and_async_code() -> None:
    @tool
    async def double(x: int) -> int:
        """Double x."""
        await asyncio.sleep(0)
        return 2 * x

    assert double.run({"x": 4}) == 8
    assert asyncio.run(double.run_async({"x": 5})) == 10

    async def inside_a_running_loop() -> int:
        return double.run({"x": 6})  # as in a Jupyter cell

    assert asyncio.run(inside_a_running_loop()) == 12


def test_plain_functions_become_tools_and_names_must_be_unique() -> None:
    def helper(a: int) -> int:
        """Return a."""
        return a

    tools = as_tools([helper, convert])
    assert [t.name for t in tools] == ["helper", "convert"]
    with pytest.raises(ConfigurationError, match="share the name"):
        as_tools([helper, helper])


def test_var_args_are_refused() -> None:
    def bad(*values: int) -> int:
        """Return 0."""
        return 0

    with pytest.raises(ConfigurationError, match="named parameters only"):
        tool(bad)


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [({"a": 1}, {"a": 1}), ('{"a": 1}', {"a": 1}), ("", {}), (None, {})],
)
def test_tool_call_arguments(raw: object, parsed: dict) -> None:
    assert tool_call_arguments(raw) == parsed


@pytest.mark.parametrize(
    ("raw", "message"),
    [('{"a": 1', "not valid JSON"), ("[1, 2]", "must be a JSON object"), (7, "must be a JSON object")],
)
def test_tool_call_arguments_errors(raw: object, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        tool_call_arguments(raw)


def test_result_content() -> None:
    assert result_content("text") == "text"
    assert result_content({"a": [1, 2]}) == '{"a":[1,2]}'
    assert result_content(convert.run({"amount": 1})) == '{"amount":1.0,"currency":"EUR","note":null}'


def test_a_tool_without_a_docstring_or_types_warns_at_the_decorator_line() -> None:
    with pytest.warns(UserWarning, match=r"Tool 'bare' has no docstring.* and no type on x, so the model") as seen:

        @tool
        def bare(x, y: int):  # type: ignore[no-untyped-def]
            return x

    assert seen[0].filename == __file__  # the user's own line, not alloy_nb's


def test_a_described_and_typed_tool_is_quiet() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        @tool(name="described")
        def quiet(x: int) -> int:
            """Return x."""
            return x


def test_a_late_sync_tool_abandoned_by_an_async_call_does_not_hold_up_the_loop() -> None:
    release = threading.Event()

    @tool(timeout=0.2)
    def stuck() -> str:
        """Wait until released."""
        release.wait(10)
        return "late"

    async def call() -> None:
        with pytest.raises(ToolError, match="abandoned"):
            await stuck.run_async({}, timeout=0.2)

    started = time.perf_counter()
    try:
        asyncio.run(call())  # asyncio.run waits for its executor: an abandoned call there held it 10 s
        waited = time.perf_counter() - started
    finally:
        release.set()
    assert waited < 5, f"the event loop's shutdown waited {waited:.1f}s for the abandoned tool"


def test_sync_tools_in_worker_threads_see_the_caller_s_settings() -> None:
    @tool(timeout=5)
    def timed() -> str:
        """The model the call's settings name."""
        return current().model

    @tool
    async def awaited() -> str:
        """The model the call's settings name."""
        return current().model

    with settings(model="ollama:qwen3:0.6b"):
        seen = {timed.run({}, timeout=5), awaited.run({}), asyncio.run(timed.run_async({}, timeout=5))}
    assert seen == {"ollama:qwen3:0.6b"}


def test_a_sync_wrapper_around_an_async_function_gives_its_value_not_a_coroutine() -> None:
    async def base(n: int) -> int:
        return n * 2

    @functools.wraps(base)
    def wrapper(n: int) -> Any:
        return base(n)

    doubled = tool(wrapper, name="doubled", description="Double a number.")
    checked = ensure(lambda value: value > 0, "must be positive")(tool(wrapper, name="checked", description="Double."))
    assert doubled.run({"n": 2}) == 4 and asyncio.run(doubled.run_async({"n": 3})) == 6
    assert asyncio.run(doubled.run_async({"n": 4}, timeout=5)) == 8 and checked.run({"n": 5}) == 10


def test_bytes_that_are_not_text_are_sent_as_url_safe_base64() -> None:
    assert result_content(b"hi") == '"hi"'
    assert result_content(b"\xff\xfe") == '"__4="' and result_content({"a": b"\xff"}) == '{"a": "_w=="}'


class Booking(BaseModel):
    model_config = ConfigDict(strict=True)
    day: datetime.date
    guests: int


def test_a_strict_model_argument_takes_a_date_as_the_text_its_schema_asks_for() -> None:
    @tool
    def book(booking: Booking) -> str:
        """Book a table."""
        return f"{booking.day:%d %B} for {booking.guests}"

    assert book.parameters["$defs"]["Booking"]["properties"]["day"]["format"] == "date"
    assert book.run({"booking": {"day": "2026-12-24", "guests": 4}}) == "24 December for 4"
    with pytest.raises(ToolError, match="guests"):
        book.run({"booking": {"day": "2026-12-24", "guests": "4"}})  # strict still: no text for a number
