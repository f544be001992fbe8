"""Wire tests: alloy_nb's adapter through the real SDKs against the scripted server over HTTP."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["native", "openai_chat"])
def api(request: pytest.FixtureRequest) -> str:
    """Run the test once per strategy."""
    return request.param


@pytest.fixture(autouse=True)
def _alloy_at_server(alloy_at_server) -> None:
    """Every wire test talks to the scripted server."""
