"""Tools the tests share (the recorded cassettes hold this exact schema and description)."""

from __future__ import annotations

from alloy_nb import tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


PRICES = {"coffee": 4.0, "tea": 3.0, "cake": 5.5}


@tool
def lookup_price(item: str) -> float:
    """Look up the price of an item in the shop, in euros."""
    return PRICES.get(item.lower(), 4.0)


@tool
def apply_discount(price: float, percent: float) -> float:
    """Apply a percentage discount to a price and return the new price."""
    return round(price * (1 - percent / 100), 2)


# notebook 03's tools as alloy_nb's native strategy writes them (the model reads them in this order)
SHOP_TOOLS_WIRE = [
    {
        "type": "function",
        "function": {
            "name": "lookup_price",
            "description": "Look up the price of an item in the shop, in euros.",
            "parameters": {"type": "object", "required": ["item"], "properties": {"item": {"type": "string"}}},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "apply_discount",
            "description": "Apply a percentage discount to a price and return the new price.",
            "parameters": {
                "type": "object",
                "required": ["price", "percent"],
                "properties": {"price": {"type": "number"}, "percent": {"type": "number"}},
            },
        },
    },
]
