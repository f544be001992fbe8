"""A host that answers with a redirect: never followed (it would resend the body and the headers
elsewhere), and the error says so, on every strategy, sync and async."""

from __future__ import annotations

import asyncio

import pytest
from odd_hosts import OddHost
from starlette.responses import RedirectResponse
from wire_shapes import wire_path

from alloy_nb import ServerError, ask
from alloy_nb.testing import ScriptedEngine, ServerThread


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_a_redirect_is_an_error_and_nothing_reaches_its_target(api: str, sync: bool) -> None:
    target = ScriptedEngine()
    with ServerThread(target) as elsewhere:
        redirecting = OddHost(lambda: RedirectResponse(f"{elsewhere.url}{wire_path(api)}", status_code=307))
        with redirecting.running() as host:
            options = {"api": api, "host": host.url, "headers": {"X-Secret": "s3cret"}}
            with pytest.raises(ServerError, match=r"HTTP 307.*a redirect, which alloy_nb never follows") as failed:
                if sync:
                    ask("Hi", **options)
                else:
                    asyncio.run(ask.async_("Hi", **options))
    assert target.requests == []  # neither the body nor the header went to the redirect's target
    assert failed.value.status_code == 307 and host.paths == [wire_path(api)]
