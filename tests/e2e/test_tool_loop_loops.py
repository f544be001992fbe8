"""Notebook 03's two-step question on SmolLM2-135M at temperature 0.

With one tool call per turn (`parallel_tool_calls=False`: the server's tool-call grammar allows one call) the
loop really loops: the price first, then the discount of that price, then the answer. With parallel calls
allowed the grammar leaves room for several calls in one reply (notebook 03 shows the model using it).
Without the constraints (`constrained=False`) its own attempt is prose: no tool call, no JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel
from sample_tools import apply_discount, lookup_price
from wire_shapes import tool_switch

from alloy_nb import CommandError, ask, rendered_prompt

SYSTEM = "You are a shop assistant. Call exactly one tool at a time."  # notebook 03's system prompt
CAKE = "What does cake cost after a 20 percent discount?"


@pytest.mark.parametrize(
    ("question", "item", "price", "percent", "discounted"),
    [(CAKE, "cake", 5.5, 20, "4.4"), ("What does coffee cost after a 10 percent discount?", "coffee", 4.0, 10, "3.6")],
)
def test_one_call_per_turn_makes_the_loop_loop_and_answer_right(
    api: str, question: str, item: str, price: float, percent: int, discounted: str
) -> None:
    tools = [lookup_price, apply_discount]
    answer, trace = ask.traced(question, tools=tools, system=SYSTEM, max_tokens=96, parallel_tool_calls=False, api=api)
    assert len(trace.requests) == 3, trace.summary()  # price, discount, answer
    assert [len(response.tool_calls) for response in trace.responses] == [1, 1, 0], trace.summary()
    looked_up, discount = trace.tool_events
    assert (looked_up.turn, looked_up.name, _arguments(looked_up.arguments)) == (0, "lookup_price", {"item": item})
    assert looked_up.result == str(price)
    assert (discount.turn, discount.name) == (1, "apply_discount"), trace.summary()
    assert _arguments(discount.arguments) == {"price": price, "percent": percent}  # the price is the first result
    assert discount.result == discounted and discounted in answer
    assert all(tool_switch(request.body, api, "parallel_tool_calls") is False for request in trace.requests)


def test_the_grammar_lets_a_reply_call_several_tools_unless_one_call_per_turn() -> None:
    """Notebook 03's first loop calls both tools in one reply because the grammar leaves room for it (which
    calls the model then makes varies with the server's batching and cache, so that is not asserted here)."""
    tools = [lookup_price, apply_discount]
    several, one = (
        rendered_prompt(CAKE, tools=tools, system=SYSTEM, parallel_tool_calls=parallel) for parallel in (None, False)
    )
    assert several.grammar is not None and one.grammar is not None
    assert _calls_allowed(several.grammar["schema"]) > 1 and _calls_allowed(one.grammar["schema"]) == 1


def test_without_the_tool_grammar_the_model_writes_prose_and_calls_nothing(api: str) -> None:
    tools = [lookup_price, apply_discount]
    answer, trace = ask.traced(CAKE, tools=tools, system=SYSTEM, max_tokens=96, constrained=False, api=api)
    assert trace.tool_events == [] and len(trace.requests) == 1
    assert tool_switch(trace.requests[0].body, api, "_tool_grammar") is False
    assert answer.strip() and "4.4" not in answer
    assert "no tool-call grammar" in trace.summary()


class Price(BaseModel):
    item: str
    euros: float


def test_a_typed_answer_validates_only_while_the_schema_is_enforced() -> None:
    prompt = "The cake costs 5.50 euros. Give the item and its price."
    value, enforced = ask.traced(prompt, output=Price, max_tokens=64)
    assert value.euros == 5.5 and "output schema enforced by the server (format)" in enforced.summary()
    with pytest.raises(CommandError, match="not JSON") as raised:
        ask(prompt, output=Price, max_tokens=64, constrained=False, auto_finalize_missing_output=False)
    assert "format" not in raised.value.trace.requests[0].body
    assert "schema in the prompt only" in raised.value.trace.summary()
    attempt = (raised.value.raw_text or "").strip()
    assert attempt and not attempt.startswith("{")  # the model's own attempt: prose, not the schema's JSON


def _calls_allowed(schema: dict[str, Any]) -> float:
    """How many tool calls the tool-call grammar's schema lets one reply hold."""
    envelope = next(part for part in schema["anyOf"] if "tool_calls" in part.get("properties", {}))
    return envelope["properties"]["tool_calls"].get("maxItems", float("inf"))


def _arguments(arguments: Any) -> Any:
    """A call's arguments as an object (the /v1 APIs carry them as JSON text)."""
    return json.loads(arguments) if isinstance(arguments, str) else arguments
