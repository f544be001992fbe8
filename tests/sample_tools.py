"""Tools the tests share (the recorded cassettes hold this exact schema and description)."""

from __future__ import annotations

from alloy_nb import tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b
