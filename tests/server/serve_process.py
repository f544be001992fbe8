"""`alloy-nb serve` as a child process for the command-line tests: its command on a free port, and the
wait until it answers."""

from __future__ import annotations

import socket
import sys
import time

import httpx


def serve_command(*flags: str) -> tuple[int, list[str]]:
    """A free loopback port and the command serving on it with `flags`."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return port, [sys.executable, "-m", "alloy_nb.server", "serve", "--port", str(port), *flags]


def wait_until_answering(url: str, timeout: float) -> None:
    """Poll `url` until the server answers; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "alloy-nb serve did not start"
            time.sleep(0.05)
