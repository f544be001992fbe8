"""Start the embedded Ollama-compatible server in the background and point alloy_nb at it."""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ._config import configure, current, redact_host
from ._host import Host
from .errors import OllamaUnavailable


@dataclass
class LocalServer:
    """A running server: `url`, and the process when this session started it."""

    url: str
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = field(default=None, repr=False)

    @property
    def started_here(self) -> bool:
        return self.process is not None

    def is_running(self) -> bool:
        """Whether the server answers now (and, when started here, its process is alive)."""
        if self.process is not None and self.process.poll() is not None:
            return False
        return _answers(self.url)

    def stop(self) -> None:
        """Stop the server if this session started it (an existing one is left alone)."""
        if self.process is None or self.process.poll() is not None:
            return
        if self.process.stdin is not None:
            self.process.stdin.close()  # the server exits when its stdin closes
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_local_server(
    *,
    port: int | None = None,
    reuse: bool = True,
    engine: str | None = None,
    models: Mapping[str, str | os.PathLike[str]] | None = None,
    timeout: float = 120.0,
) -> LocalServer:
    """Use the server at the configured host if one answers (`reuse`), else start the embedded one
    (serving `models`, `{"name": "path/to/model.gguf"}`, besides its own).

    The new server listens on 127.0.0.1 (a free port unless `port` is given); the configured
    host is pointed at it. It runs in its own session, so a Ctrl-C or a kernel interrupt (SIGINT
    to the kernel's process group) does not reach it, and it exits when this process does (at exit,
    or when its stdin pipe closes because this process died).
    """
    host = current().host
    if reuse and _answers(host):
        return LocalServer(url=redact_host(host))  # only shown: the configured host stays as it is
    chosen = port or _free_port()
    url = f"http://127.0.0.1:{chosen}"
    descriptor, name = tempfile.mkstemp(prefix="alloy-nb-server-", suffix=".log")
    os.close(descriptor)
    log = Path(name)
    command = [sys.executable, "-m", "alloy_nb.server", "serve", "--host", "127.0.0.1", "--port", str(chosen)]
    command += ["--stop-when-stdin-closes", "--started-by", "notebook"]
    if engine:
        command += ["--engine", engine]
    for name, path in (models or {}).items():
        command += ["--model", f"{name}={os.fspath(path)}"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.PIPE, start_new_session=True
        )
    server = LocalServer(url=url, process=process, log=log)
    atexit.register(server.stop)
    try:
        _wait_until_ready(server, timeout)
    except BaseException:  # Ctrl-C while the model loads: no server left behind in its own session
        server.stop()
        raise
    configure(host=url)
    return server


def _answers(url: str) -> bool:
    return Host(url=url, timeout=1.0).answers()


def _wait_until_ready(server: LocalServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            output = server.log.read_text(errors="replace")[-2000:] if server.log else ""
            raise OllamaUnavailable(f"The embedded server exited (code {server.process.returncode}):\n{output}")
        if _answers(server.url):
            return
        time.sleep(0.05)
    server.stop()
    raise OllamaUnavailable(f"The embedded server did not answer at {server.url} within {timeout:g}s.")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
