"""A real Arize Phoenix for the tests: `phoenix serve` from its own venv (`.venv-phoenix`, made by
`make test`) on free loopback ports, its database in a temporary folder, its telemetry and outside
resources off; and the spans it stored, read back through its REST API. Nothing is skipped: without
that venv a test fails, naming the step that makes it."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
PHOENIX = REPO / ".venv-phoenix" / "bin" / "phoenix"
START_TIMEOUT_S = 180.0  # about 15 s on two busy cores: database migrations, then the app
READ_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(work: Path) -> Iterator[str]:
    """`phoenix serve` on a free loopback port, working in `work`; its base URL."""
    if not PHOENIX.exists():
        pytest.fail(f"{PHOENIX} not found: `make .venv-phoenix/.installed` makes it (`make test` does).", pytrace=False)
    port, grpc_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PHOENIX_", "OTEL_"))}
    env |= {
        "PHOENIX_WORKING_DIR": str(work),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    }
    log = work / "phoenix.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(PHOENIX), "serve"], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def read_spans(url: str, project: str, count: int, **filters: Any) -> list[dict[str, Any]]:
    """Spans of `project` as Phoenix's REST API gives them, once it has stored `count` that match `filters`."""
    deadline = time.monotonic() + READ_TIMEOUT_S
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        answer = httpx.get(f"{url}/v1/projects/{project}/spans", params={**filters, "limit": 100}, timeout=10)
        if answer.status_code == 200:
            found = answer.json()["data"]
            if len(found) >= count:
                return found
        time.sleep(0.25)
    raise AssertionError(f"Phoenix has {len(found)} of the {count} spans asked for ({filters}): {found}")


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"phoenix serve exited ({process.returncode}):\n{log.read_text()[-3000:]}", pytrace=False)
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"phoenix serve did not answer in {START_TIMEOUT_S:.0f} s:\n{log.read_text()[-3000:]}", pytrace=False)
