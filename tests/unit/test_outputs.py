"""Output types -> schemas -> validated values, without a server."""

from __future__ import annotations

from typing import Literal, Optional

import pytest
from sample_types import Color, Invoice, Person, Point

from alloy_nb import CommandError, ConfigurationError
from alloy_nb._outputs import _unfenced, output_spec


def test_str_is_plain_text() -> None:
    spec = output_spec(str)
    assert spec.is_text and spec.schema is None
    assert spec.parse("  anything {not json ") == "  anything {not json "


@pytest.mark.parametrize("record", [Invoice, Point, Person])
def test_records_use_their_own_object_schema(record: type) -> None:
    spec = output_spec(record)
    assert not spec.wrapped
    assert spec.schema["type"] == "object" and "properties" in spec.schema
    assert "title" not in spec.schema


@pytest.mark.parametrize(
    ("output", "reply", "value"),
    [
        (int, '{"value": 42}', 42),
        (float, '{"value": 2.5}', 2.5),
        (bool, '{"value": true}', True),
        (list[str], '{"value": ["a", "b"]}', ["a", "b"]),
        (dict[str, int], '{"value": {"a": 1}}', {"a": 1}),
        (Optional[int], '{"value": null}', None),
        (Literal["yes", "no"], '{"value": "no"}', "no"),
        (Color, '{"value": "blue"}', Color.BLUE),
        (int, "42", 42),  # a bare value is accepted too
        (Literal["Paris", "Rome"], "Paris", "Paris"),  # plain text that validates
        (Invoice, '```json\n{"number": "A1", "total": 9.5}\n```', Invoice(number="A1", total=9.5)),
        (Point, 'Sure! {"x": 1, "y": 2} is the answer.', Point(1, 2)),
        (Person, '{"name": "Ada", "age": 36}', {"name": "Ada", "age": 36}),
    ],
)
def test_replies_validate(output: object, reply: str, value: object) -> None:
    assert output_spec(output).parse(reply) == value


def test_wrapped_schema_keeps_defs_at_top_level() -> None:
    schema = output_spec(list[Invoice]).schema
    assert schema["properties"]["value"]["items"] == {"$ref": "#/$defs/Invoice"}
    assert "Invoice" in schema["$defs"]


@pytest.mark.parametrize(
    ("output", "reply", "message"),
    [
        (Invoice, '{"number": "A1"}', "Failed to parse the model's output as Invoice: total: Field required"),
        (int, "forty-two", "is not JSON"),
        (Literal["a"], '{"value": "b"}', "Failed to parse the model's output as Literal: Input should be 'a'"),
    ],
)
def test_invalid_replies_raise_command_error_with_raw_text(output: object, reply: str, message: str) -> None:
    with pytest.raises(CommandError, match=message) as info:
        output_spec(output).parse(reply)
    assert info.value.raw_text == reply


def test_undescribable_type_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="cannot be described"):
        output_spec(object())


def test_prose_with_many_braces_is_bounded() -> None:
    reply = "{" * 200_000
    with pytest.raises(CommandError):
        output_spec(int).parse(reply)


def test_an_unclosed_fence_over_a_long_run_of_blanks_is_read_in_linear_time() -> None:
    spec = output_spec(list[int])
    reply = "```json" + " " * 64_000 + "[1]"  # a fence the model opened and never closed
    assert _unfenced(reply) == reply  # read whole: the old pattern backtracked over every blank
    assert spec.parse(reply) == [1]
    assert spec.parse("```json\n[1, 2]\n```") == [1, 2] and spec.parse("```\n[3]\n```") == [3]


def test_the_first_json_in_prose_that_validates_is_the_value() -> None:
    assert output_spec(Point).parse('I checked [1] source: {"x": 1, "y": 2}') == Point(x=1, y=2)
    assert output_spec(list[int]).parse('Counts: {"note": "none"} then [3, 4]') == [3, 4]
    with pytest.raises(CommandError, match="Failed to parse the model's output as list"):
        output_spec(list[int]).parse('{"numbers": [1, 2]}')  # a whole reply is the value: nothing inside it is
    with pytest.raises(CommandError, match="Failed to parse"):
        output_spec(Point).parse('Here: {"points": [{"x": 1, "y": 2}]} done')  # nor a value nested in prose's
