"""Output types: generated type -> JSON schema -> a generated value, serialized and parsed back, is equal."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any, Literal, Optional

import jsonschema
from hypothesis import example, given, settings, strategies as st
from pydantic import TypeAdapter, create_model

from alloy_nb import CommandError
from alloy_nb._outputs import output_spec

FIELD_NAMES = ("a", "b", "name", "count", "items", "value", "total")
_model_numbers = itertools.count()


@dataclass(frozen=True)
class Shape:
    """A type together with a strategy for its values."""

    type: Any
    values: st.SearchStrategy[Any]


PRIMITIVES = st.sampled_from(
    [
        Shape(int, st.integers()),
        Shape(float, st.floats(allow_nan=False, allow_infinity=False)),
        Shape(bool, st.booleans()),
        Shape(str, st.text(max_size=20)),
    ]
)


@st.composite
def literals(draw: st.DrawFn) -> Shape:
    choices = draw(st.lists(st.one_of(st.text(max_size=6), st.integers(-5, 5)), min_size=1, max_size=4, unique=True))
    options = [c for c in choices if isinstance(c, type(choices[0]))]  # one kind: Literal[1, "1"] is legal but noisy
    return Shape(Literal[tuple(options)], st.sampled_from(options))


def _model(fields: list[tuple[str, Shape]]) -> Shape:
    model = create_model(f"Generated{next(_model_numbers)}", **{name: (shape.type, ...) for name, shape in fields})
    values = st.fixed_dictionaries({name: shape.values for name, shape in fields}).map(lambda kw: model(**kw))
    return Shape(model, values)


def _extend(children: st.SearchStrategy[Shape]) -> st.SearchStrategy[Shape]:
    fields = st.lists(
        st.tuples(st.sampled_from(FIELD_NAMES), children), min_size=1, max_size=3, unique_by=lambda field: field[0]
    )
    return st.one_of(
        children.map(lambda s: Shape(list[s.type], st.lists(s.values, max_size=3))),
        children.map(lambda s: Shape(dict[str, s.type], st.dictionaries(st.text(max_size=5), s.values, max_size=3))),
        children.map(lambda s: Shape(Optional[s.type], st.none() | s.values)),
        fields.map(_model),
    )


SHAPES = st.recursive(PRIMITIVES | literals(), _extend, max_leaves=6)


def _reply(shape: Shape, value: Any) -> tuple[Any, str]:
    """The value as the model is asked to send it: a record as itself, anything else as {"value": ...}."""
    spec = output_spec(shape.type)
    data = TypeAdapter(shape.type).dump_python(value, mode="json")
    instance = {"value": data} if spec.wrapped else data
    return instance, json.dumps(instance)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_value_sent_in_the_schema_parses_back_equal(data: st.DataObject) -> None:
    shape = data.draw(SHAPES.filter(lambda s: s.type is not str), label="type")
    value = data.draw(shape.values, label="value")
    spec = output_spec(shape.type)
    instance, text = _reply(shape, value)
    jsonschema.validate(instance, spec.schema)  # the schema sent to the model admits the value
    assert spec.parse(text) == value
    assert spec.parse(f"```json\n{text}\n```") == value
    assert spec.parse(f"Here it is: {text} Hope that helps.") == value


@settings(max_examples=50, deadline=None)
@given(st.text())
def test_plain_text_output_is_the_reply_itself(text: str) -> None:
    assert output_spec(str).parse(text) == text


@settings(max_examples=150, deadline=None)
@given(st.data(), st.text() | st.text(alphabet='{}[]":,0123456789 `\nvalueultrs'))
@example(None, "[" * 100_000)
@example(None, '{"value": ' * 50_000)
def test_any_reply_text_gives_a_valid_value_or_a_command_error(data: st.DataObject | None, text: str) -> None:
    shape = (
        data.draw(SHAPES.filter(lambda s: s.type is not str), label="type") if data else Shape(list[int], st.nothing())
    )
    try:
        value = output_spec(shape.type).parse(text)
    except CommandError as error:
        assert error.raw_text == text
        return
    TypeAdapter(shape.type).validate_python(value, strict=False)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_every_prefix_of_a_streamed_reply_gives_a_partial_value_or_none(data: st.DataObject) -> None:
    shape = data.draw(SHAPES.filter(lambda s: s.type is not str), label="type")
    value = data.draw(shape.values, label="value")
    spec = output_spec(shape.type)
    _, text = _reply(shape, value)
    for end in range(len(text)):
        partial = spec.parse_partial(text[:end])
        if partial is not None:
            TypeAdapter(shape.type).validate_python(partial, strict=False)  # a value of the type, if not all of it
    assert spec.parse_partial(text) == value


def test_a_streamed_reply_nested_too_deep_has_no_partial_value() -> None:
    assert output_spec(list[int]).parse_partial('{"value": ' * 50_000) is None
    assert output_spec(list[int]).parse_partial("[" * 100_000) is None
