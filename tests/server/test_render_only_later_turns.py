"""`_debug_render_only` on a later turn of a tool conversation, on the embedded SmolLM2: a tool the
conversation already called is neither listed in the instructions nor allowed by the grammar (as when
the turn is decoded), and once every tool was called the reply must be text."""

from __future__ import annotations

from typing import Any

import httpx
from sample_tools import SHOP_TOOLS_WIRE as TOOLS

EMBEDDED = "smollm2:135m"
QUESTION = {"role": "user", "content": "What does cake cost after a 20 percent discount?"}
PRICE_CALL = [
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"function": {"name": "lookup_price", "arguments": {"item": "cake"}}}],
    },
    {"role": "tool", "tool_name": "lookup_price", "content": "4.0"},
]
DISCOUNT_CALL = [
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"function": {"name": "apply_discount", "arguments": {"price": 4.0, "percent": 20}}}],
    },
    {"role": "tool", "tool_name": "apply_discount", "content": "3.2"},
]


def rendered(url: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    body = {"model": EMBEDDED, "messages": messages, "tools": TOOLS, "stream": False, "_debug_render_only": True}
    answer = httpx.post(f"{url}/api/chat", json=body, timeout=60).json()
    assert answer["done"] is False and answer["message"]["content"] == ""
    return answer["_debug_info"]


def offered(info: dict[str, Any]) -> list[str]:
    """The tools the grammar lets the reply call."""
    calls = info["grammar"]["schema"]["anyOf"][0]["properties"]["tool_calls"]
    return [call["properties"]["name"]["const"] for call in calls["items"]["anyOf"]]


def test_a_tool_already_called_is_not_offered_on_later_turns(embedded_url: str) -> None:
    first = rendered(embedded_url, [QUESTION])
    assert "\n- lookup_price: " in first["rendered_template"] and "\n- apply_discount: " in first["rendered_template"]
    assert offered(first) == ["lookup_price", "apply_discount"]

    second = rendered(embedded_url, [QUESTION, *PRICE_CALL])
    template = second["rendered_template"]
    assert "\n- lookup_price: " not in template and "\n- apply_discount: " in template
    assert '{"name": "lookup_price", "arguments": {"item": "cake"}}' in template  # the earlier call, as written
    assert "Result of lookup_price: 4.0" in template
    assert offered(second) == ["apply_discount"]
    assert second["grammar"]["schema"]["anyOf"][0]["properties"]["tool_calls"]["maxItems"] == 1


def test_once_every_tool_was_called_the_reply_must_be_text(embedded_url: str) -> None:
    info = rendered(embedded_url, [QUESTION, *PRICE_CALL, *DISCOUNT_CALL])
    template = info["rendered_template"]
    assert "You can call these tools" not in template and "- lookup_price: " not in template
    assert "Answer the question using the tool results above" in template
    assert info["grammar"]["kind"] == "tool_calls"
    assert info["grammar"]["schema"] == {
        "type": "object",
        "properties": {"content": {"type": "string"}},
        "required": ["content"],
    }
