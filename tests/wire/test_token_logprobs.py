"""Token log probabilities end to end: the setting reaches the wire on the strategies that have them, plain
and streamed (Ollama's /v1/responses has none: asking there is refused before anything is sent); the trace
keeps each token with its alternatives, and they spell the reply; the call log keeps them with the trace."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest
from wire_shapes import LOGPROB_STRATEGIES

import alloy_nb
from alloy_nb import ConfigurationError, ask, logs
from alloy_nb.testing import ScriptedTurn as Reply

REPLY = Reply(chunks=["Tides ", "follow ", "the ", "moon."])


@pytest.mark.parametrize("api", LOGPROB_STRATEGIES)
@pytest.mark.parametrize("stream", [False, True])
def test_logprobs_reach_the_wire_and_the_trace_keeps_each_token(server, api: str, stream: bool) -> None:
    server.script(REPLY)
    if stream:
        streamed = ask.stream("Why tides?", api=api, logprobs=True, top_logprobs=3)
        text, trace = "".join(streamed), streamed.trace
    else:
        text, trace = ask.traced("Why tides?", api=api, logprobs=True, top_logprobs=3)
    body = server.requests[0].body
    assert (body["logprobs"], body["top_logprobs"]) == (True, 3)
    tokens = trace.tokens()
    assert tokens.text == text == "Tides follow the moon."
    assert [token.token for token in tokens] == ["Tides ", "follow ", "the ", "moon."]
    assert all(len(token.alternatives) == 3 and token.alternatives[0].token == token.token for token in tokens)
    assert all(0.5 <= math.exp(token.logprob) <= 0.95 for token in tokens)  # the scripted model's range
    assert trace.responses[0].tokens == list(tokens)


@pytest.mark.parametrize("setting", [{"logprobs": True}, {"top_logprobs": 2}], ids=["logprobs", "top_logprobs"])
def test_the_responses_api_refuses_logprobs_before_sending(server, setting: dict) -> None:
    refused = r"Token probabilities are not on Ollama's /v1/responses .*Use api='native' or api='openai_chat'"
    with pytest.raises(ConfigurationError, match=refused):
        ask("Why tides?", api="openai_responses", **setting)
    with pytest.raises(ConfigurationError, match=refused):
        "".join(ask.stream("Why tides?", api="openai_responses", **setting))
    assert server.requests == []


def test_without_the_setting_nothing_is_asked_or_kept(server, api: str) -> None:
    _, trace = ask.traced("Hi", api=api)
    assert "logprobs" not in server.requests[0].body and "top_logprobs" not in server.requests[0].body
    assert trace.responses[0].tokens is None and len(trace.tokens()) == 0


def test_top_logprobs_alone_asks_and_the_environment_sets_both(server, monkeypatch: pytest.MonkeyPatch) -> None:
    ask("Hi", top_logprobs=2)
    assert server.requests[0].body["logprobs"] is True and server.requests[0].body["top_logprobs"] == 2
    monkeypatch.setenv("ALLOY_LOGPROBS", "true")
    alloy_nb.reset_configuration()
    _, trace = ask.traced("Hi")
    assert server.requests[1].body["logprobs"] is True and "top_logprobs" not in server.requests[1].body
    assert trace.tokens() and all(token.alternatives == [] for token in trace.tokens())
    with pytest.raises(alloy_nb.ConfigurationError):
        ask("Hi", top_logprobs=21)


def test_the_call_log_keeps_the_tokens_with_the_trace(server, tmp_path: Path) -> None:
    alloy_nb.configure(log_db=str(tmp_path / "calls.db"))
    server.script(REPLY)
    _, trace = ask.traced("Why tides?", logprobs=True, top_logprobs=2)
    logs.flush()
    with sqlite3.connect(tmp_path / "calls.db") as conn:
        [(stored,)] = conn.execute("SELECT trace FROM calls WHERE id = ?", (trace.id,)).fetchall()
    assert '"alternatives"' in stored
    kept = logs.get(trace.id).tokens()
    assert kept.text == "Tides follow the moon." and list(kept) == list(trace.tokens())


def test_the_token_table_as_rows_and_pandas(server) -> None:
    server.script(REPLY)
    _, trace = ask.traced("Why tides?", top_logprobs=2)
    rows = trace.tokens().rows()
    assert [row["token"] for row in rows] == ["Tides ", "follow ", "the ", "moon."]
    assert rows[0]["probability"] == pytest.approx(math.exp(rows[0]["logprob"]))
    frame = trace.tokens().to_pandas()
    assert list(frame["token"]) == ["Tides ", "follow ", "the ", "moon."] and len(frame.columns) == 5
