"""`retry` / `retry_on` as in alloy-ai, plus backoff with jitter and transient faults retried by default."""

from __future__ import annotations

import asyncio
import time

import pytest

import alloy_nb
from alloy_nb import CommandError, ModelNotFound, ServerError, ask, command
from alloy_nb._call.retries import RetryPolicy, backoff_delay
from alloy_nb._config import current
from alloy_nb.testing import ScriptedTurn as Reply

QUICK = {"retry_backoff": 0.02, "auto_finalize_missing_output": False}
BAD, GOOD = Reply(text="not a number"), Reply(text='{"value": 42}')


def test_retry_runs_the_whole_command_again_until_it_parses(server, api: str) -> None:
    @command(output=int, retry=3, api=api, **QUICK)
    def answer() -> str:
        return "The answer?"

    server.script(BAD, BAD, GOOD)
    value, trace = answer.traced()
    assert value == 42
    assert [r.attempt for r in trace.requests] == [1, 2, 3]
    assert [(r.scope, r.attempt, r.error.type) for r in trace.retries] == [
        ("call", 1, "CommandError"),
        ("call", 2, "CommandError"),
    ]
    assert len(server.requests) == 3 and trace.status == "ok"


def test_after_the_last_attempt_the_last_error_is_raised(server, api: str) -> None:
    server.script(BAD, BAD)
    with pytest.raises(CommandError, match="Failed to parse the model's output as int") as info:
        ask("The answer?", output=int, retry=2, api=api, **QUICK)
    assert len(server.requests) == 2 and len(info.value.trace.retries) == 1


def test_retry_on_limits_which_failures_are_retried(server, api: str) -> None:
    server.script(BAD, GOOD)
    with pytest.raises(CommandError):
        ask("The answer?", output=int, retry=3, retry_on=ServerError, api=api, **QUICK)
    assert len(server.requests) == 1
    server.engine.reset()
    server.script(BAD, GOOD)
    assert ask("The answer?", output=int, retry=3, retry_on=CommandError, api=api, **QUICK) == 42


def test_retry_from_configure_settings_and_the_environment(server, monkeypatch: pytest.MonkeyPatch) -> None:
    alloy_nb.configure(**QUICK)
    monkeypatch.setenv("ALLOY_RETRY", "2")
    server.script(BAD, GOOD)
    assert ask("The answer?", output=int) == 42
    monkeypatch.delenv("ALLOY_RETRY")
    alloy_nb.configure(retry=2)
    server.script(BAD, GOOD)
    assert ask("The answer?", output=int) == 42
    alloy_nb.configure(retry=1)
    with alloy_nb.settings(retry=2):
        server.script(BAD, GOOD)
        assert ask("The answer?", output=int) == 42
    server.script(BAD)
    with pytest.raises(CommandError):
        ask("The answer?", output=int)


def test_a_missing_model_or_a_4xx_is_not_retried(server) -> None:
    with pytest.raises(ModelNotFound) as info:
        ask("Hi", model="ollama:no-such-model", retry=3, **QUICK)
    assert info.value.trace.retries == []
    server.script(Reply(status=400, error="bad"), GOOD)
    with pytest.raises(ServerError, match="HTTP 400"):
        ask("Hi", retry=3, **QUICK)
    assert len(server.requests) == 2  # the one to the missing model, then the 400


def test_waits_grow_exponentially_with_jitter_and_are_waited(server) -> None:
    server.script(BAD, BAD, BAD, GOOD)
    started = time.perf_counter()
    _, trace = ask.traced("The answer?", output=int, retry=4, retry_backoff=0.08, auto_finalize_missing_output=False)
    elapsed = time.perf_counter() - started
    waits = [r.wait_s for r in trace.retries]
    for attempt, wait in enumerate(waits, start=1):
        ceiling = 0.08 * 2 ** (attempt - 1)
        assert ceiling / 2 <= wait <= ceiling
    assert elapsed >= sum(waits)


def test_backoff_is_capped_and_jitter_is_half_of_it() -> None:
    assert [backoff_delay(n, 1.0, 5.0, 0.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 2.5, 2.5]
    assert [backoff_delay(n, 1.0, 5.0, 1.0) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff_delay(10_000, 1.0, 5.0, 0.5) == 3.75  # no overflow, long past the cap
    policy = RetryPolicy.of(current(retry=50, retry_backoff=1.0, retry_backoff_max=2.0))
    assert all(1.0 <= (policy.call_wait(CommandError("x"), n) or 0) <= 2.0 for n in range(3, 40))


def test_transient_faults_are_retried_even_with_retry_1(server, api: str) -> None:
    server.script(Reply(status=503, error="loading"), Reply(text="x", close_after_chunks=0), Reply(text="fine"))
    value, trace = ask.traced("Hi", api=api, retry_backoff=0.01)
    assert value == "fine"
    assert [(r.scope, r.attempt, r.turn) for r in trace.retries] == [("request", 1, 0), ("request", 2, 0)]
    assert len(trace.requests) == 3 and len(trace.responses) == 1


def test_transient_retries_can_be_switched_off_and_validation_is_never_retried(server, api: str) -> None:
    server.script(Reply(status=502, error="proxy"), Reply(text="fine"))
    with pytest.raises(ServerError, match="HTTP 502"):
        ask("Hi", api=api, transient_retries=0)
    server.engine.reset()
    server.script(BAD, GOOD)
    with pytest.raises(CommandError):
        ask("The answer?", output=int, api=api, **QUICK)  # transient retries never re-ask a bad reply
    assert len(server.requests) == 1


def test_async_calls_retry_the_same_way(server, api: str) -> None:
    server.script(Reply(status=504, error="gateway"), BAD, GOOD)
    value, trace = asyncio.run(ask.traced_async("The answer?", output=int, retry=2, api=api, **QUICK))
    assert value == 42
    assert [(r.scope, r.attempt) for r in trace.retries] == [("request", 1), ("call", 1)]


def test_a_stream_retries_a_transient_fault_before_its_first_piece(server, api: str) -> None:
    server.script(Reply(status=503, error="loading"), Reply(text="streamed fine"))
    stream = ask.stream("Hi", api=api, retry_backoff=0.01)
    assert "".join(stream) == "streamed fine"
    assert [r.scope for r in stream.trace.retries] == ["request"] and len(stream.trace.requests) == 2


def test_every_attempt_is_in_the_trace_views(server) -> None:
    server.script(Reply(status=503, error="<b>busy</b>"), Reply(text="ok"))
    _, trace = ask.traced("Hi", retry_backoff=0.01)
    assert "↻ request attempt 1 failed (ServerError)" in trace.summary()
    page = trace._repr_html_()
    assert "↻ retry" in page and "&lt;b&gt;busy&lt;/b&gt;" in page and "<b>busy</b>" not in page
    assert alloy_nb.Trace.from_json(trace.to_json()).retries == trace.retries
