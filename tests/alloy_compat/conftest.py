"""alloy-ai's public behaviour, written from its documentation, run on alloy_nb: scripted server,
real SDKs, both strategies."""

from __future__ import annotations

import pytest

from alloy_nb._choices import STRATEGIES


@pytest.fixture(params=STRATEGIES)
def api(request: pytest.FixtureRequest) -> str:
    """Run the test once per strategy."""
    return request.param


@pytest.fixture(autouse=True)
def _alloy_at_server(alloy_at_server) -> None:
    """Every test here talks to the scripted server."""
