"""`think="max"` where the model offers it: accepted, and sent as each wire API spells it.

Ollama's `/api/show` lists a model's thinking levels, and newer models add "max" to low, medium and
high. Native sends `think: "max"`; both /v1 APIs send the effort "max" as it is: Ollama's
`/v1/chat/completions` and `/v1/responses` take it (and read OpenAI's "xhigh" as "max"), and the
openai SDK's `ReasoningEffort` lists it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from wire_shapes import thinking_setting

from alloy_nb import ask
from alloy_nb._capabilities import forget
from alloy_nb.server.demo import fake_card
from alloy_nb.testing import ScriptedServer, ScriptedTurn as Reply

MAX_MODEL = "gpt-oss:120b"  # a name no other test describes, so no cached description gets in the way


@pytest.fixture
def offers_max(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedServer]:
    """The scripted server, listing one more model whose thinking levels include "max"."""
    card = dataclasses.replace(fake_card(MAX_MODEL), think_values=("low", "medium", "high", "max"))
    listed = server.engine.models
    monkeypatch.setattr(server.engine, "models", lambda: [*listed(), card])
    forget(server.url)
    yield server
    forget(server.url)


def test_max_is_sent_on_every_strategy_where_the_model_offers_it(offers_max: ScriptedServer, api: str) -> None:
    offers_max.script(Reply(text="Deep.", thinking="Hard."))
    value, trace = ask.traced("Hi", think="max", model=f"ollama:{MAX_MODEL}", api=api)
    assert value == "Deep." and trace.status == "ok"
    [request] = offers_max.requests
    assert thinking_setting(request.body, api) == "max"  # as sent on the wire
    assert request.think == "max"  # as the server read it
