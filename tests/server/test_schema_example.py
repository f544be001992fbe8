"""schema_example: synthesized instances validate against the schemas pydantic makes."""

from __future__ import annotations

import dataclasses
import enum
from datetime import date, datetime
from typing import Any, Literal, Optional

import pytest
from pydantic import BaseModel, Field, TypeAdapter
from typing_extensions import TypedDict

from alloy_nb.server.schema_example import example


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Line(BaseModel):
    sku: str = Field(min_length=12)
    quantity: int = Field(gt=0, le=5)


class Invoice(BaseModel):
    number: str
    issued: date
    lines: list[Line] = Field(min_length=2)
    note: str | None
    color: Color
    kind: Literal["a", "b"]
    extra: dict[str, Line]
    pair: tuple[int, str]


class Tree(BaseModel):
    name: str
    parent: Tree | None
    children: list[Tree]


@dataclasses.dataclass
class Point:
    x: float
    y: int | str


class Person(TypedDict):
    name: str
    born: datetime


@pytest.mark.parametrize(
    "kind",
    [
        int,
        float,
        str,
        bool,
        None,
        list[int],
        Optional[int],
        Literal[3],
        Color,
        Invoice,
        Tree,
        Point,
        Person,
        list[Tree],
    ],
)
def test_instances_validate(kind: Any) -> None:
    adapter = TypeAdapter(kind)
    adapter.validate_python(example(adapter.json_schema()))


def test_constraints_refs_and_unions_are_honoured() -> None:
    invoice = Invoice.model_validate(example(Invoice.model_json_schema()))
    assert len(invoice.lines) == 2 and invoice.lines[0].quantity == 1 and len(invoice.lines[0].sku) == 12
    assert invoice.note is not None and invoice.kind == "a" and invoice.color is Color.RED


def test_hand_written_schema_keywords() -> None:
    schema = {
        "type": "object",
        "required": ["c", "one", "many", "nothing", "ref"],
        "properties": {
            "c": {"const": "fixed"},
            "one": {"oneOf": [{"type": "null"}, {"type": "number", "exclusiveMinimum": 1.5}]},
            "many": {"type": ["null", "array"], "items": {"enum": ["x", "y"]}, "minItems": 3},
            "nothing": {"type": "null"},
            "ref": {"$ref": "#/definitions/Flag"},
            "skipped": {"type": "string"},
        },
        "definitions": {"Flag": {"type": "boolean"}},
    }
    assert example(schema) == {"c": "fixed", "one": 2.5, "many": ["x", "x", "x"], "nothing": None, "ref": True}
    assert example({}) is None
