"""Wire tests: alloy_nb's adapter through the real SDKs against the scripted server over HTTP."""

from __future__ import annotations

import pytest

from alloy_nb._choices import STRATEGIES


@pytest.fixture(params=STRATEGIES)
def api(request: pytest.FixtureRequest) -> str:
    """Run the test once per strategy."""
    return request.param


@pytest.fixture(autouse=True)
def _alloy_at_server(alloy_at_server) -> None:
    """Every wire test talks to the scripted server."""
