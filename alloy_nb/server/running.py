"""Run the app under uvicorn on a bound socket."""

from __future__ import annotations

import socket

import uvicorn
from starlette.types import ASGIApp

from alloy_nb.server.deadlines import BODY_IDLE_S, HEADERS_S, with_deadlines


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


SHUTDOWN_GRACE_S = 0  # on SIGTERM/SIGINT, requests in flight stop at once (a generation at its next token)


def build_server(
    app: ASGIApp, log_level: str = "warning", *, headers_s: float = HEADERS_S, body_idle_s: float = BODY_IDLE_S
) -> uvicorn.Server:
    """A uvicorn server for an app (``create_app(engine, ...)``); run it with ``sockets=[bind(...)]``.
    A client must send a request's headers within `headers_s` and may pause its body `body_idle_s`."""
    config = uvicorn.Config(
        app,
        log_level=log_level,
        lifespan="off",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        http=with_deadlines(headers_s, body_idle_s),
    )
    return uvicorn.Server(config)
