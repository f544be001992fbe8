"""Bounded load on loopback against `alloy-nb serve` in a subprocess: nothing lost, replies whole, memory flat.

Run with `-s` to see the figures; they are also recorded as junit properties for the reliability report.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from load_clients import LoadRun, drive, rss_mb

import alloy_nb
from alloy_nb import LocalServer, start_local_server

SCRIPTED_REQUESTS, SCRIPTED_CLIENTS = 2_000, 32
LLAMA_REQUESTS, LLAMA_CLIENTS, LLAMA_TOKENS = 50, 8, 8
WARM_UP = 64
RSS_GROWTH_LIMIT_MB = 50
Serve = Callable[[str], LocalServer]
RecordProperty = Callable[[str, object], None]


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Serve]:
    """Start `python -m alloy_nb.server serve --engine E` on a free port; stopped after the test."""
    started: list[LocalServer] = []
    monkeypatch.delenv("OLLAMA_HOST", raising=False)

    def start(engine: str) -> LocalServer:
        started.append(start_local_server(reuse=False, engine=engine, timeout=60))
        return started[-1]

    yield start
    for server in started:
        server.stop()
    alloy_nb.reset_configuration()


def _report(name: str, run: LoadRun, record_property: RecordProperty, **extra: float) -> dict[str, float]:
    figures = {**run.figures(), **extra, "requests": len(run.answers), "failures": len(run.failures)}
    for key, value in figures.items():
        record_property(f"{name}.{key}", value)
    print(f"\n{name}: " + ", ".join(f"{key}={value}" for key, value in figures.items()))
    return figures


def test_scripted_engine_under_load(serve: Serve, record_property: RecordProperty) -> None:
    server = serve("scripted")
    assert server.process is not None
    asyncio.run(asyncio.wait_for(drive(server.url, WARM_UP, SCRIPTED_CLIENTS, "smollm2:135m"), 60))
    before = rss_mb(server.process.pid)
    run = asyncio.run(asyncio.wait_for(drive(server.url, SCRIPTED_REQUESTS, SCRIPTED_CLIENTS, "smollm2:135m"), 300))
    after = rss_mb(server.process.pid)
    _report("scripted", run, record_property, rss_before_mb=round(before, 1), rss_after_mb=round(after, 1))

    assert run.failures == []
    assert sorted(a.index for a in run.answers) == list(range(SCRIPTED_REQUESTS)), "lost or duplicated requests"
    wrong = [a for a in run.answers if not a.finished or a.text != f"You said: load {a.index}"]
    assert wrong == [], wrong[:3]
    assert {(a.api, a.stream) for a in run.answers} == {
        ("native", False),
        ("native", True),
        ("openai", False),
        ("openai", True),
    }
    assert after - before < RSS_GROWTH_LIMIT_MB, f"server RSS grew from {before:.1f} MB to {after:.1f} MB"


def test_embedded_llama_engine_under_load(serve: Serve, record_property: RecordProperty) -> None:
    """About 6 s on a quiet machine. The timeouts are wide because the cores may be shared: with another
    llama.cpp process on the same two cores, replies were seen to take 70 s instead of 0.8 s."""
    server = serve("llama")
    warm = asyncio.run(drive(server.url, 1, 1, "smollm2:135m", max_tokens=LLAMA_TOKENS, timeout=300))  # loads the model
    assert warm.failures == []
    run = asyncio.run(
        asyncio.wait_for(
            drive(server.url, LLAMA_REQUESTS, LLAMA_CLIENTS, "smollm2:135m", max_tokens=LLAMA_TOKENS, timeout=300), 900
        )
    )
    _report("llama", run, record_property)

    assert run.failures == []
    assert sorted(a.index for a in run.answers) == list(range(LLAMA_REQUESTS))
    assert all(a.finished for a in run.answers), [a for a in run.answers if not a.finished][:3]
    assert sum(bool(a.text) for a in run.answers) >= LLAMA_REQUESTS // 2  # the model said something


def test_keep_alive_requests_do_not_wait_for_delayed_acks(serve: Serve, record_property: RecordProperty) -> None:
    """One client, one connection, one request after another: each takes about a millisecond on loopback.
    (With Nagle on the server's sockets each took ~40 ms, the client's delayed-ACK timer.)"""
    server = serve("scripted")
    latencies = []
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for index in range(60):
            started = time.perf_counter()
            reply = client.post(
                "/api/chat",
                json={
                    "model": "smollm2:135m",
                    "stream": False,
                    "messages": [{"role": "user", "content": f"seq {index}"}],
                },
            )
            latencies.append(time.perf_counter() - started)
            assert reply.json()["message"]["content"] == f"You said: seq {index}"
    median_ms = statistics.median(latencies[10:]) * 1000
    record_property("sequential.p50_ms", round(median_ms, 2))
    print(f"\nsequential keep-alive: p50_ms={median_ms:.2f}")
    assert median_ms < 15
