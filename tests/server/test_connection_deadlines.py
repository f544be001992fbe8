"""A client that connects and says nothing, or trickles its request, is disconnected; a long
generation and a keep-alive connection are not (real server over real TCP)."""

from __future__ import annotations

import itertools
import socket
import time

import httpx
from hypothesis import given, strategies as st

from alloy_nb.server.deadlines import RequestFraming
from alloy_nb.testing import ScriptedEngine, ScriptedTurn, ServerThread

DEADLINES = (0.5, 0.5)  # headers within 0.5 s, body pauses at most 0.5 s


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed the connection, or None if it stayed open that long."""
    sock.settimeout(seconds)
    started = time.monotonic()
    try:
        while sock.recv(1024):
            pass
    except TimeoutError:
        return None
    return time.monotonic() - started


def test_a_silent_connection_is_closed() -> None:
    with ServerThread(ScriptedEngine(), deadlines=DEADLINES) as server:
        with socket.create_connection((server.host, server.port)) as silent:
            closed = _closed_within(silent, 3)
    assert closed is not None and closed < 1.5, closed


def test_headers_sent_a_byte_at_a_time_are_cut_off() -> None:
    request = b"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"x" * 100 + b"\r\n\r\n"
    with ServerThread(ScriptedEngine(), deadlines=DEADLINES) as server:
        with socket.create_connection((server.host, server.port)) as slow:
            started = time.monotonic()
            try:
                for byte in request:
                    slow.sendall(bytes([byte]))
                    time.sleep(0.05)
            except OSError:  # the server hung up on us
                pass
            elapsed = time.monotonic() - started
            assert _closed_within(slow, 2) is not None
    assert elapsed < 2.0, elapsed  # cut off near the deadline, not after the 8 s the trickle takes


def test_a_body_that_stalls_is_cut_off() -> None:
    head = (
        b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
    )
    with ServerThread(ScriptedEngine(), deadlines=DEADLINES) as server:
        with socket.create_connection((server.host, server.port)) as stalled:
            stalled.sendall(head + b'{"model": "smollm2:135m", ')
            closed = _closed_within(stalled, 3)
    assert closed is not None and closed < 1.5, closed


def test_long_generations_and_kept_alive_connections_are_left_alone() -> None:
    engine = ScriptedEngine()
    engine.script(ScriptedTurn(chunks=["slow ", "but ", "fine"], delay=0.7, chunk_delay=0.4))
    with ServerThread(engine, deadlines=DEADLINES) as server, httpx.Client(base_url=server.url) as client:
        body = {"model": "smollm2:135m", "messages": [{"role": "user", "content": "hi"}]}
        with client.stream("POST", "/api/chat", json=body) as response:
            lines = [line for line in response.iter_lines() if line]
        assert len(lines) == 4 and '"done":true' in lines[-1]  # 1.5 s of generation, past both deadlines
        time.sleep(0.3)  # idle, kept alive, then a second request on the same connection
        assert client.get("/api/version").status_code == 200
        assert client.post("/api/chat", json={**body, "stream": False}).status_code == 200


@given(cuts=st.lists(st.integers(min_value=1, max_value=400), max_size=10))
def test_framing_follows_requests_however_they_are_cut(cuts: list[int]) -> None:
    body = b'{"model": "m"}'
    stream = (
        b"POST /api/chat HTTP/1.1\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
        + b"POST /x HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        + b"GET /api/tags HTTP/1.1\r\n\r\n"
    )
    framing = RequestFraming()
    bounds = sorted({0, len(stream), *(cut % len(stream) for cut in cuts)})
    for start, end in itertools.pairwise(bounds):
        framing.feed(stream[start:end])
    assert framing.state == "sent"
    framing.feed(b"GET / HTTP/1.1\r\n")
    assert framing.state == "headers"
