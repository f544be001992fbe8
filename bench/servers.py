"""The servers benchmarks run against: `alloy-nb serve` in a child process on loopback, so the
server never shares the measuring process's interpreter lock."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

EMBEDDED_MODEL = "smollm2:135m"


@dataclass(frozen=True)
class RunningServer:
    url: str
    cold_start_s: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(
    engine: str,
    *,
    port: int | None = None,
    think_time: float = 0.0,
    parallel: int | None = None,
    timeout: float = 120.0,
) -> Iterator[RunningServer]:
    """Start `alloy-nb serve --engine ENGINE` and wait until it answers a chat request."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "alloy_nb.server", "serve", "--engine", engine, "--port", str(port)]
    if think_time:
        command += ["--think-time", str(think_time)]
    if parallel:
        command += ["--parallel", str(parallel)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        cold_start = _wait_for_answer(url, process, started, timeout)
        yield RunningServer(url, cold_start)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for_answer(url: str, process: subprocess.Popen[bytes], started: float, timeout: float) -> float:
    body = {
        "model": EMBEDDED_MODEL,
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": False,
        "options": {"num_predict": 1},
    }
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the benchmark server exited with code {process.returncode}")
        try:
            httpx.post(f"{url}/api/chat", json=body, timeout=timeout).raise_for_status()
            return time.perf_counter() - started
        except httpx.TransportError:
            time.sleep(0.02)
    raise RuntimeError(f"the benchmark server at {url} did not answer within {timeout:g}s")
