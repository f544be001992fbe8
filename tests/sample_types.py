"""Output types the unit and wire tests share: one of each kind pydantic can describe."""

from __future__ import annotations

import dataclasses
import enum

from pydantic import BaseModel
from typing_extensions import TypedDict


class City(BaseModel):
    name: str
    country: str


class Invoice(BaseModel):
    number: str
    total: float


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Person(TypedDict):
    name: str
    age: int


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class LineItem(BaseModel):
    name: str
    qty: int


class Order(BaseModel):  # a record with a list: a streamed reply's partial value fills in item by item
    number: str
    items: list[LineItem] = []
