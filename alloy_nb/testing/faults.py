"""Faults a test can ask the server for, injected at the HTTP layer around the production app.

The production server knows nothing of them: the scripted engine marks the current request's
`FaultSlot` (a raw body to answer with, or a connection to cut) and `FaultInjector`, an ASGI
middleware, carries it out on the response the app produces.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class DropConnection(Exception):
    """Raised into the server to cut the connection mid-response (as a crashing server would)."""


@dataclass
class FaultSlot:
    """What should go wrong with the response to the request being served."""

    raw_body: str | None = None
    drop: bool = False


_current: ContextVar[FaultSlot | None] = ContextVar("alloy_nb_fault_slot", default=None)


def fault_slot() -> FaultSlot | None:
    """The slot of the request being served (None outside a `FaultInjector`)."""
    return _current.get()


class FaultInjector:
    """ASGI middleware: a raw body replaces the app's response; a drop lets the headers out, then cuts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        slot = FaultSlot()
        token = _current.set(slot)
        replaced = False

        async def faulty_send(message: Message) -> None:
            nonlocal replaced
            if slot.raw_body is not None:
                if replaced:
                    return
                if message["type"] == "http.response.start":
                    body = slot.raw_body.encode()
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"]
                    await send(
                        {**message, "status": 200, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
                    )
                    await send({"type": "http.response.body", "body": body, "more_body": False})
                    replaced = True
                return
            if slot.drop and message["type"] == "http.response.body":
                raise DropConnection()
            await send(message)

        try:
            await self.app(scope, receive, faulty_send)
        finally:
            _current.reset(token)


class HideDroppedConnections(logging.Filter):
    """Connections cut on purpose are not server errors worth a traceback in the test log."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, DropConnection)
