"""Tool arguments from the model: any text or value either parses to an object or raises ToolError."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings, strategies as st

from alloy_nb import ToolError, tool
from alloy_nb._tools import tool_call_arguments

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@tool
def book(city: str, nights: int, guests: list[str] | None = None) -> str:
    """Book a stay."""
    return f"{city} {nights} {guests}"


def _parsed_or_tool_error(raw: Any) -> dict[str, Any] | None:
    try:
        result = tool_call_arguments(raw)
    except ToolError as error:
        assert str(error).startswith("The arguments ")
        return None
    assert isinstance(result, dict)
    return result


@settings(max_examples=300, deadline=None)
@given(st.text() | st.text(alphabet='{}[]":,0123456789 \\nultrafse'))
@example("[" * 100_000)
@example('{"a": ' * 50_000)
def test_any_text_parses_to_an_object_or_raises_tool_error(text: str) -> None:
    _parsed_or_tool_error(text)


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES)
def test_json_text_of_an_object_parses_back_equal_and_anything_else_is_refused(value: Any) -> None:
    result = _parsed_or_tool_error(json.dumps(value))
    assert result == (value if isinstance(value, dict) else None)


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES | st.dictionaries(st.sampled_from(["city", "nights", "guests", "other"]), JSON_VALUES))
def test_tool_validation_of_any_arguments_raises_only_tool_error(arguments: Any) -> None:
    parsed = _parsed_or_tool_error(arguments)
    if parsed is None:
        return
    try:
        assert book.run(parsed).startswith(str(parsed["city"]))
    except ToolError as error:
        assert str(error).startswith("Invalid arguments for tool 'book': ")
