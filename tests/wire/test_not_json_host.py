"""A host that answers 200 with something that is not JSON (a proxy's login page): the error names the host
and says the reply was not JSON, for every strategy, sync and async."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from odd_hosts import OddHost, login_page
from wire_shapes import wire_path

from alloy_nb import ServerError, ask

NOT_JSON = (
    r"The server at http://127\.0\.0\.1:\d+ answered with a reply that is not JSON, beginning "
    r"'<html><head><title>Sign in</title>.*'\. Is OLLAMA_HOST pointing at an Ollama server\? .*"
)


@pytest.fixture
def proxy() -> Iterator[OddHost]:
    with login_page().running() as host:
        yield host


def test_a_login_page_is_reported_as_not_json(proxy: OddHost, api: str) -> None:
    with pytest.raises(ServerError, match=NOT_JSON) as caught:
        ask("hi", host=proxy.url, api=api)
    assert "\n" not in str(caught.value)
    assert caught.value.trace is not None and caught.value.trace.status == "error"
    assert set(proxy.paths) == {wire_path(api)}


async def test_a_login_page_is_reported_as_not_json_async(proxy: OddHost, api: str) -> None:
    with pytest.raises(ServerError, match=NOT_JSON):
        await ask.async_("hi", host=proxy.url, api=api)
    assert set(proxy.paths) == {wire_path(api)}
