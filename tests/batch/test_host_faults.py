"""`map` over a healthy host and one that fails below the API: the faulty host cools down and every item
finishes on the healthy one."""

from __future__ import annotations

import pytest
from odd_hosts import login_page, trickling

from alloy_nb import ask
from alloy_nb._choices import STRATEGIES
from alloy_nb.testing import ScriptedEngine, ServerThread

PROMPTS = [f"item {i}" for i in range(8)]


@pytest.mark.parametrize("api", STRATEGIES)
def test_items_leave_a_host_that_trickles_its_reply(api: str) -> None:
    with trickling(interval=0.3).running() as bad, ServerThread(ScriptedEngine()) as good:
        result = ask.map(PROMPTS, hosts=[bad.url, good.url], timeout=1, api=api, progress=False)
    assert len(result.ok) == len(PROMPTS), result.summary()
    assert {slot.host for slot in result.items} == {good.url}
    assert bad.paths and result.wall_s < 4  # items sent to it were given up at the timeout, not held


@pytest.mark.parametrize("api", STRATEGIES)
def test_items_leave_a_host_that_answers_a_login_page(api: str) -> None:
    with login_page().running() as bad, ServerThread(ScriptedEngine()) as good:
        result = ask.map(PROMPTS, hosts=[bad.url, good.url], api=api, progress=False)
    assert len(result.ok) == len(PROMPTS), result.summary()
    assert {slot.host for slot in result.items} == {good.url}
    moved = [slot for slot in result.items if slot.attempts > 1]
    assert moved and len(bad.paths) == len(moved)  # each item it got moved on; then it was cooling down
