"""Credentials in the host: never shown, sent the same way by every strategy and the host client."""

from __future__ import annotations

import base64
import logging

import pytest

import alloy_nb
from alloy_nb import ConfigurationError, ask
from alloy_nb._choices import STRATEGIES
from alloy_nb._config import current
from alloy_nb._host import Host

SECRET = "s3cr3t-pw"


def with_credentials(url: str) -> str:
    return url.replace("http://", f"http://alice:{SECRET}@")


@pytest.mark.parametrize("api", STRATEGIES)
def test_url_credentials_become_one_basic_authorization_header(server, api: str) -> None:
    alloy_nb.configure(host=with_credentials(server.url))
    try:
        assert ask("hi", api=api) == "You said: hi"
    finally:
        alloy_nb.reset_configuration()
    expected = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()
    assert server.requests[0].headers["authorization"] == expected


@pytest.mark.parametrize("api", STRATEGIES)
def test_a_configured_authorization_header_wins(server, api: str) -> None:
    alloy_nb.configure(host=with_credentials(server.url), headers={"Authorization": "Bearer proxy"})
    try:
        ask("hi", api=api)
    finally:
        alloy_nb.reset_configuration()
    assert server.requests[0].headers["authorization"] == "Bearer proxy"


def test_the_password_is_nowhere_to_be_seen(server, capsys, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    alloy_nb.configure(host=with_credentials(server.url))
    try:
        config = current()
        assert ask.traced("hi", api="openai_chat").trace.host.startswith("http://***@")
        shown = [repr(config), str(config), repr(Host(config).info()), Host(config).shown]
        assert "***@127.0.0.1" in repr(config)  # what %alloy config shows
        with pytest.raises(ConfigurationError) as refused:
            alloy_nb.configure(host=f"http://alice:{SECRET}@gpu box")
        shown.append(str(refused.value))
    finally:
        alloy_nb.reset_configuration()
    printed = capsys.readouterr()
    everything = "\n".join([*shown, printed.out, printed.err, caplog.text])
    assert SECRET not in everything


def test_a_header_with_a_line_break_is_refused_before_any_request(server) -> None:
    with pytest.raises(ConfigurationError, match="line break") as refused:
        ask("hi", headers={"X-Token": "abc\r\nInjected: yes"})
    assert "abc" not in str(refused.value)
    assert server.requests == []


def test_a_bad_ollama_host_with_credentials_is_reported_without_them(monkeypatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"https://me:{SECRET}@proxy:99999")
    alloy_nb.reset_configuration()
    with pytest.raises(ConfigurationError, match="OLLAMA_HOST") as refused:
        current()
    assert SECRET not in str(refused.value) and "***@proxy" in str(refused.value)


API_KEY = "sk-ollama-4f7c2b"


@pytest.mark.parametrize("api", STRATEGIES)
def test_ollama_api_key_reaches_every_request_and_no_record(server, api: str, monkeypatch, caplog) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", API_KEY)
    caplog.set_level(logging.DEBUG)
    _, trace = ask.traced("hi", api=api)
    Host(current()).info()  # the host calls: tags, show, ps
    sent = [request.headers.get("authorization") for request in server.requests]
    assert sent and set(sent) == {f"Bearer {API_KEY}"}, sent
    shown = [trace.to_json(), repr(current()), str(current()), caplog.text, alloy_nb._config.settings_table_markdown()]
    assert not any(API_KEY in text for text in shown)


def test_a_configured_authorization_header_wins_over_the_key(server, monkeypatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", API_KEY)
    ask("hi", headers={"Authorization": "Bearer proxy"})
    assert server.requests[0].headers["authorization"] == "Bearer proxy"


@pytest.mark.parametrize("api", STRATEGIES)
def test_a_401_says_where_the_key_goes_and_never_shows_it(server, api: str, monkeypatch) -> None:
    from alloy_nb import ServerError
    from alloy_nb.testing import ScriptedTurn

    monkeypatch.setenv("OLLAMA_API_KEY", API_KEY)
    server.script(ScriptedTurn(status=401, error="unauthorized"))
    with pytest.raises(ServerError, match=r"HTTP 401.*refused the key sent.*OLLAMA_API_KEY") as refused:
        ask("hi", api=api, transient_retries=0)
    assert API_KEY not in str(refused.value) and API_KEY not in (
        refused.value.trace.to_json() if refused.value.trace else ""
    )


@pytest.mark.parametrize("api", STRATEGIES)
@pytest.mark.parametrize(
    ("sent", "says"),
    [
        ({}, "No key was sent"),
        ({"api_key": "k-refused-1"}, "It refused the key sent (Authorization: Bearer"),
        ({"headers": {"Authorization": "k-raw-token-2"}}, "It refused the key sent (Authorization: credentials"),
        ({"host": "BASIC"}, "It refused the user and password sent (Authorization: Basic"),
    ],
    ids=["none", "api_key", "raw header", "basic"],
)
def test_a_401_says_whether_a_key_was_missing_or_refused(server, api: str, sent: dict, says: str, monkeypatch) -> None:
    from alloy_nb import ServerError
    from alloy_nb.testing import ScriptedTurn

    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    settings = {key: with_credentials(server.url) if value == "BASIC" else value for key, value in sent.items()}
    server.script(ScriptedTurn(status=401, error="unauthorized"))
    with pytest.raises(ServerError) as refused:
        ask("hi", api=api, transient_retries=0, **settings)
    message = str(refused.value)
    assert "HTTP 401" in message and says in message, message
    for secret in ("k-refused-1", "k-raw-token-2", SECRET):
        assert secret not in message


def test_ollama_com_is_a_tls_host_on_port_443() -> None:
    assert current(host="https://ollama.com").base_url == "https://ollama.com:443"
