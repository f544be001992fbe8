"""`ask.map` / `cmd.map` against real scripted servers: order, bounds, typed and tool items, errors, hosts."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime

import pytest
from batch_helpers import echo_after
from sample_tools import add
from sample_types import Invoice

import alloy_nb
from alloy_nb import ServerError, ask, command
from alloy_nb._call.batch_result import BatchResult
from alloy_nb.errors import BatchError
from alloy_nb.testing import ScriptedEngine, ScriptedTurn as Reply, ServerThread

PROMPTS = [f"item {i}" for i in range(12)]


def test_results_keep_the_input_order_whatever_order_they_finish_in() -> None:
    engine = ScriptedEngine(responder=echo_after(lambda prompt: 0.01 * (12 - int(prompt.split()[1]))))
    with ServerThread(engine) as server:
        result = ask.map(PROMPTS, host=server.url, progress=False)
    assert result.values == [f"echo: {prompt}" for prompt in PROMPTS] == list(result)
    assert [slot.index for slot in result.items] == list(range(12))
    finish = [datetime.fromisoformat(slot.trace.started_at).timestamp() + slot.duration_s for slot in result.items]
    assert finish != sorted(finish)  # later items (shorter delays) finished first


def test_concurrency_bounds_the_requests_in_flight_per_host() -> None:
    engine = ScriptedEngine(responder=echo_after(lambda _: 0.05))
    with ServerThread(engine) as server:
        result = ask.map(PROMPTS, host=server.url, concurrency=3, progress=False)
        assert engine.peak_active == 3
        engine.reset_peak()
        ask.map(PROMPTS, host=server.url, progress=False)
        assert engine.peak_active == 4  # the default, like Ollama's OLLAMA_NUM_PARALLEL
    assert len(result.ok) == 12 and result.wall_s < 12 * 0.05


def test_typed_items_validate_and_keep_their_traces(server) -> None:
    result = ask.map(["Invoice A.", "Invoice B."], output=Invoice, progress=False)
    assert all(isinstance(value, Invoice) for value in result.values)
    assert [slot.trace.requests[0].body["messages"][-1]["content"] for slot in result.items] == [
        "Invoice A.",
        "Invoice B.",
    ]
    assert all("format" in slot.trace.requests[0].body for slot in result.items)


def test_command_items_are_an_argument_a_tuple_or_keywords_and_tools_run(server) -> None:
    @command(tools=[add])
    def total(a: int, b: int = 10) -> str:
        return f"Add {a} and {b}."

    result = total.map([1, (2, 3), {"a": 4, "b": 5}], progress=False)
    prompts = [slot.trace.requests[0].body["messages"][-1]["content"] for slot in result.items]
    assert prompts == ["Add 1 and 10.", "Add 2 and 3.", "Add 4 and 5."]
    assert all(slot.trace.tool_events and slot.trace.tool_events[0].name == "add" for slot in result.items)
    assert len(result.ok) == 3


def test_failures_are_collected_per_item_and_never_retried_when_permanent(server) -> None:
    server.script(Reply(text="one"), Reply(status=400, error="bad item"), Reply(text="three"))
    result = ask.map(["a", "b", "c"], concurrency=1, progress=False)
    assert result.values == ["one", None, "three"]
    (failed,) = result.failed
    assert failed.index == 1 and isinstance(failed.error, ServerError) and "bad item" in str(failed.error)
    assert failed.trace is not None and failed.trace.status == "error" and failed.attempts == 1
    assert len(server.requests) == 3  # the 400 was not sent again
    assert "1 failed" in result.summary()


def test_on_error_raise_stops_at_the_first_failure_and_keeps_what_finished(server) -> None:
    server.script(Reply(text="one"), Reply(status=400, error="bad item"))
    with pytest.raises(BatchError, match=r"Item 1 of 6 failed: ServerError: .*bad item") as caught:
        ask.map(list("abcdef"), concurrency=1, on_error="raise", progress=False)
    partial = caught.value.result
    assert partial.values[0] == "one" and partial.failed[0].index == 1
    assert partial.pending == [2, 3, 4, 5] and len(server.requests) == 2


def test_a_bad_setting_fails_before_any_item_runs(server) -> None:
    with pytest.raises(alloy_nb.ConfigurationError):
        ask.map(["a"], temperature="hot", progress=False)  # type: ignore[arg-type]
    with pytest.raises(alloy_nb.ConfigurationError, match="concurrency=0"):
        ask.map(["a"], concurrency=0, progress=False)
    assert server.requests == []


def test_transient_faults_move_to_another_host(two_hosts) -> None:
    first, second = two_hosts
    first.engine.script(Reply(status=503, error="overloaded"), Reply(status=503, error="overloaded"))
    result = ask.map(PROMPTS[:6], hosts=[first.url, second.url], concurrency=1, progress=False)
    assert len(result.ok) == 6
    moved = [slot for slot in result.items if slot.attempts > 1]
    assert moved and all(slot.host == second.url for slot in moved)
    assert all(slot.trace.host == slot.host for slot in result.items)  # the trace names the host that answered


def test_least_busy_dispatch_spreads_items_over_hosts(two_hosts) -> None:
    first, second = two_hosts
    result = ask.map(PROMPTS, hosts=[first.url, second.url], concurrency=1, progress=False)
    hosts = [slot.host for slot in result.items]
    assert abs(hosts.count(first.url) - hosts.count(second.url)) <= 2
    assert first.engine.peak_active == second.engine.peak_active == 1


def test_a_commands_map_takes_the_keywords_ask_map_takes(two_hosts) -> None:
    first, second = two_hosts

    @command
    def double(word: str) -> str:
        return f"Say {word} twice."

    result = double.map(["a", "b", "c", "d"], hosts=[first.url, second.url], max_tokens=7, progress=False)
    assert len(result.ok) == 4 and {slot.host for slot in result.items} == {first.url, second.url}
    sent = [request.body for engine in (first.engine, second.engine) for request in engine.requests]
    assert all(body["options"]["num_predict"] == 7 for body in sent)
    again = asyncio.run(double.map_async(["e"], host=second.url, progress=False))
    assert again.items[0].host == second.url and double.options == {}  # the command itself is unchanged


def test_a_host_killed_mid_batch_loses_nothing(two_hosts) -> None:
    first, second = two_hosts
    prompts = [f"item {i}" for i in range(30)]
    killer = threading.Timer(0.2, first.stop)
    killer.start()
    try:
        result = ask.map(prompts, hosts=[first.url, second.url], concurrency=2, progress=False)
    finally:
        killer.cancel()
    assert result.values == [f"echo: {prompt}" for prompt in prompts], result.summary()
    later = result.items[-5:]
    assert all(slot.host == second.url for slot in later)
    assert {slot.host for slot in result.items} == {first.url, second.url}


def test_hosts_come_from_the_environment_too(two_hosts, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = two_hosts
    monkeypatch.setenv("OLLAMA_HOSTS", f"{first.url}, {second.url}")
    alloy_nb.reset_configuration()
    result = ask.map(PROMPTS[:8], concurrency=1, progress=False)
    assert {slot.host for slot in result.items} == {first.url, second.url}


def test_resume_runs_only_what_did_not_finish(server) -> None:
    server.script(Reply(text="one"), Reply(status=400, error="bad"))
    with pytest.raises(BatchError) as caught:
        ask.map(list("abcd"), concurrency=1, on_error="raise", progress=False)
    partial = caught.value.result
    server.engine.reset()
    again = partial.resume()
    assert again is partial and partial.done
    assert [r.body["messages"][-1]["content"] for r in server.requests] == ["c", "d"]
    assert partial.failed[0].index == 1  # a failure is a result: kept unless asked
    partial.resume(retry_failed=True)
    assert partial.values[1] == "You said: b" and not partial.failed


def test_the_table_escapes_what_items_values_and_errors_hold(server) -> None:
    server.script(Reply(text="<script>alert(1)</script>"), Reply(status=400, error="<img src=x onerror=alert(2)>"))
    result = ask.map(["<b>one</b>", "two"], concurrency=1, progress=False)
    page = result._repr_html_()
    assert "<script>" not in page and "<img" not in page and "<b>one" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x" in page and "&lt;b&gt;one" in page
    assert '<tr class="av-failed">' in page  # the failure is highlighted


def test_to_pandas_has_a_row_per_item(server) -> None:
    frame = ask.map(["a", "b"], progress=False).to_pandas()
    assert list(frame["value"]) == ["You said: a", "You said: b"]
    assert list(frame.columns) == ["item", "value", "ok", "error", "host", "seconds", "tokens", "attempts"]


def test_the_progress_bar_counts_items_in_text_outside_notebooks(server, capsys: pytest.CaptureFixture[str]) -> None:
    ask.map(["a", "b", "c"])
    bar = capsys.readouterr().err
    assert "3/3" in bar and "0 failed" in bar and "tok/s" in bar


async def test_map_async_runs_on_the_callers_loop(server) -> None:
    result = await ask.map_async(["a", "b"], progress=False)
    assert isinstance(result, BatchResult) and result.values == ["You said: a", "You said: b"]

    @command
    async def greet(name: str) -> str:
        return f"Greet {name}."

    greeted = await greet.map_async(["Ann", "Bo"], progress=False)
    assert greeted.values == ["You said: Greet Ann.", "You said: Greet Bo."]


SCRIPT = """
import signal, sys
import alloy_nb
from alloy_nb import ask
from alloy_nb.errors import BatchInterrupted
alloy_nb.configure(host=sys.argv[1])
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even when started with Ctrl-C ignored
try:
    ask.map([f"item {i}" for i in range(40)], concurrency=1, progress=False)
except BatchInterrupted as stopped:
    print(len(stopped.result.items), len(stopped.result.pending), stopped.result.interrupted)
"""


def test_ctrl_c_in_a_script_raises_with_what_finished() -> None:
    import signal
    import subprocess
    import sys
    import time

    engine = ScriptedEngine(responder=echo_after(lambda _: 0.05))
    with ServerThread(engine) as server:
        script = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, server.url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        while len(engine.requests) < 3 and time.monotonic() < deadline:  # Ctrl-C mid-batch, however busy the machine
            time.sleep(0.01)
        script.send_signal(signal.SIGINT)
        stdout, stderr = script.communicate(timeout=60)
    done = (stdout, stderr)
    finished, pending, interrupted = stdout.split()
    assert interrupted == "True" and int(finished) + int(pending) == 40 and 0 < int(finished) < 40, done
    assert int(finished) == len(engine.requests)  # the request in flight finished; nothing was dropped
    assert "Stopping: waiting for the requests in flight" in stderr


def test_a_settings_scope_reaches_the_batch(two_hosts) -> None:
    first, _ = two_hosts
    with alloy_nb.settings(host=first.url):
        result = ask.map(["a", "b"], progress=False)
    assert {slot.host for slot in result.items} == {first.url}


def test_the_table_has_a_timeline_row_per_item(server) -> None:
    result = ask.map(["a", "b", "c"], progress=False)
    page = result._repr_html_()
    assert "<summary>timeline</summary>" in page
    assert all(f"#{index}" in page for index in range(3))


def test_a_host_password_shows_nowhere_in_the_result(server) -> None:
    secret_host = server.url.replace("://", "://me:s3cret@")
    result = ask.map(["a", "b"], host=secret_host, progress=False)
    assert result.values == ["You said: a", "You said: b"]
    shown = [repr(result.items), result.to_pandas().to_string(), result._repr_html_()]
    assert all("s3cret" not in text for text in shown) and "***@" in shown[0]


def test_a_result_reads_one_item_without_reading_them_all(server) -> None:
    result = ask.map(["a", "b", "c"], progress=False)
    assert result[1] == "You said: b" and result[-1] == "You said: c" and result[0:2] == ["You said: a", "You said: b"]
    assert list(reversed(result)) == ["You said: c", "You said: b", "You said: a"] and result.index("You said: b") == 1
    result.slots[2] = None  # an item that did not run
    assert result[2] is None


@pytest.mark.parametrize("items", ["hello", b"hello"])
def test_one_string_is_refused_not_split_into_characters(server, items) -> None:
    with pytest.raises(alloy_nb.ConfigurationError, match="map takes a list of items"):
        ask.map(items, progress=False)
    assert server.requests == []


@pytest.mark.parametrize("concurrency", [2.5, None, "3", True])
def test_a_concurrency_that_is_not_a_whole_number_is_a_clear_error(server, concurrency) -> None:
    with pytest.raises(alloy_nb.ConfigurationError, match="must be a whole number"):
        ask.map(["a"], concurrency=concurrency, progress=False)


def test_the_maps_own_host_outranks_hosts_from_the_environment(two_hosts, server, monkeypatch) -> None:
    first, second = two_hosts
    monkeypatch.setenv("OLLAMA_HOSTS", f"{first.url}, {second.url}")
    alloy_nb.reset_configuration()
    result = ask.map(["a", "b", "c"], host=server.url, progress=False)
    assert {slot.host for slot in result.items} == {server.url} and len(server.requests) == 3
