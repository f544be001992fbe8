"""An in-process server for tests: the production app, with fault injection, on a loopback port."""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from types import TracebackType

from alloy_nb.server import Engine, bind, build_server, create_app
from alloy_nb.server.deadlines import BODY_IDLE_S, HEADERS_S

from .faults import FaultInjector, HideDroppedConnections


class ServerThread:
    """Serve an engine on ``127.0.0.1`` and a free port from a daemon thread.

    >>> import ollama
    >>> from alloy_nb.testing import ScriptedEngine
    >>> with ServerThread(ScriptedEngine(["tiny:1b"])) as server:
    ...     [model.model for model in ollama.Client(host=server.url).list().models]
    ['tiny:1b']
    """

    def __init__(
        self, engine: Engine, host: str = "127.0.0.1", port: int = 0, *, deadlines: tuple[float, float] | None = None
    ) -> None:
        """`deadlines`: (seconds for a request's headers, longest pause in its body), as `build_server` takes."""
        self.engine = engine
        self._socket = bind(host, port)
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        # off loopback DNS rebinding is moot and clients use other names; the socket has resolved `host`
        on_loopback = ipaddress.ip_address(self._socket.getsockname()[0]).is_loopback
        headers_s, body_idle_s = deadlines or (HEADERS_S, BODY_IDLE_S)
        app = FaultInjector(create_app(engine, allow_any_host=not on_loopback))
        self._server = build_server(app, headers_s=headers_s, body_idle_s=body_idle_s)
        error_log = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, HideDroppedConnections) for f in error_log.filters):
            error_log.addFilter(HideDroppedConnections())
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
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
