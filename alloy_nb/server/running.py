"""Run the app under uvicorn: on a bound socket, in a background thread or the foreground."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Iterable
from types import TracebackType

import uvicorn

from alloy_nb.server.app import create_app
from alloy_nb.server.engines import DropConnection, Engine


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (0 picks a free port); OSError if it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say they are TCP;
    # with Nagle on, a reply's body waits for the client's delayed ACK, ~40 ms per request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def build_server(
    engine: Engine, log_level: str = "warning", *, allow_any_host: bool = False, origins: Iterable[str] = ()
) -> uvicorn.Server:
    """A uvicorn server for ``create_app(engine, ...)``; run it with ``sockets=[bind(...)]``."""
    app = create_app(engine, allow_any_host=allow_any_host, origins=origins)
    config = uvicorn.Config(app, log_level=log_level, lifespan="off", timeout_graceful_shutdown=2)
    error_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideDroppedConnections) for f in error_log.filters):
        error_log.addFilter(_HideDroppedConnections())
    return uvicorn.Server(config)


class _HideDroppedConnections(logging.Filter):
    """Connections cut on purpose (fault injection) are not server errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, DropConnection)


class ServerThread:
    """Serve an engine on ``127.0.0.1`` and a free port from a daemon thread.

    >>> with ServerThread(ScriptedEngine()) as server:
    ...     ollama.Client(host=server.url).list()
    """

    def __init__(self, engine: Engine, host: str = "127.0.0.1", port: int = 0) -> None:
        self.engine = engine
        self._socket = bind(host, port)
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        # off loopback DNS rebinding is moot and clients use other names; the socket has resolved `host`
        on_loopback = ipaddress.ip_address(self._socket.getsockname()[0]).is_loopback
        self._server = build_server(engine, allow_any_host=not on_loopback)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"alloy-nb-server:{self.port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        """Start serving; returns once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"alloy-nb server on {self.url} did not start")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the server to exit and wait for the thread (idempotent)."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._socket.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
