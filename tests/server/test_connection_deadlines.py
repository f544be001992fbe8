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
        + b"POST /x HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n10;ext=1\r\nxxxxxxxxxx0\r\n\r\nx\r\n0\r\nT: 1\r\n\r\n"
        + b"GET /api/tags HTTP/1.1\r\n\r\n"
    )
    framing = RequestFraming()
    bounds = sorted({0, len(stream), *(cut % len(stream) for cut in cuts)})
    for start, end in itertools.pairwise(bounds):
        framing.feed(stream[start:end])
    assert framing.state == "sent"
    framing.feed(b"GET / HTTP/1.1\r\n")
    assert framing.state == "headers"


def _stalled_after(request: bytes) -> float | None:
    """Seconds until the server hung up on a client that sent `request` and then nothing."""
    with ServerThread(ScriptedEngine(), deadlines=DEADLINES) as server:
        with socket.create_connection((server.host, server.port)) as stalled:
            stalled.sendall(request)
            return _closed_within(stalled, 3)


def test_bytes_inside_a_chunk_that_look_like_the_last_chunk_do_not_end_the_body() -> None:
    head = b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    closed = _stalled_after(head + b"10\r\nxxxxxxxxxxx0\r\n\r\n")  # 11 of the chunk's 16 bytes, then a stall
    assert closed is not None and closed < 1.5, closed


def test_long_headers_keep_the_content_length_in_view() -> None:
    head = b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\nX-Pad: " + b"x" * 200_000
    closed = _stalled_after(head + b"\r\n\r\n")  # no body: its 500 bytes are due
    assert closed is not None and closed < 1.5, closed


def test_headers_over_the_limit_close_the_connection_at_once() -> None:
    with ServerThread(ScriptedEngine(), deadlines=(5.0, 5.0)) as server:
        with socket.create_connection((server.host, server.port)) as client:
            started = time.monotonic()
            try:
                client.sendall(b"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"x" * (2 << 20))
            except OSError:  # the server hung up mid-send
                pass
            try:
                assert _closed_within(client, 3) is not None
            except ConnectionResetError:  # hung up with our bytes unread: closed all the same
                pass
            assert time.monotonic() - started < 2.5  # not at the 5 s deadline


def test_a_last_chunk_with_an_extension_or_a_trailer_ends_the_body() -> None:
    body = b'{"model": "smollm2:135m", "messages": [{"role": "user", "content": "hi"}]}'
    engine = ScriptedEngine()
    engine.script(*[ScriptedTurn(text="fine", delay=1.0)] * 2)  # longer than the body pause allowed
    with ServerThread(engine, deadlines=DEADLINES) as server:
        for last in (b"0;x=1\r\n\r\n", b"0\r\nX-Trailer: 1\r\n\r\n"):
            with socket.create_connection((server.host, server.port)) as client:
                client.sendall(
                    b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(body):x}\r\n".encode() + body + b"\r\n" + last
                )
                client.settimeout(5)
                assert client.recv(4096).startswith(b"HTTP/1.1 200"), last
