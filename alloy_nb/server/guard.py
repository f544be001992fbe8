"""The Host and Origin guards: what keeps web pages from using a local server through a browser.

Like Ollama, the app refuses browser-borne requests it should not serve: a foreign ``Host`` while it
listens on loopback (DNS rebinding) and an ``Origin`` outside the allowlist; allowed origins get
CORS headers (the header lists below).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from alloy_nb.server.failures import dialect_for

_LOCAL_ORIGINS = r"https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::\d+)?"
_APP_ORIGINS = r"(?:app|file|tauri|vscode-webview|vscode-file)://.*"

CORS_METHODS = ["GET", "HEAD", "POST", "OPTIONS"]
CORS_HEADERS = [
    "Authorization",
    "Content-Type",
    "User-Agent",
    "Accept",
    "X-Requested-With",
    # the openai SDKs' own headers (the ollama SDKs send only the ones above)
    "OpenAI-Beta",
    "OpenAI-Organization",
    "OpenAI-Project",
    "X-Stainless-Arch",
    "X-Stainless-Async",
    "X-Stainless-Custom-Poll-Interval",
    "X-Stainless-Helper-Method",
    "X-Stainless-Lang",
    "X-Stainless-OS",
    "X-Stainless-Package-Version",
    "X-Stainless-Poll-Helper",
    "X-Stainless-Read-Timeout",
    "X-Stainless-Retry-Count",
    "X-Stainless-Runtime",
    "X-Stainless-Runtime-Version",
    "X-Stainless-Stream-Helper",
    "X-Stainless-Timeout",
]


def origin_pattern(extra: Iterable[str] = ()) -> str:
    """A regex (for ``fullmatch``) of the origins allowed: local ones, ``OLLAMA_ORIGINS``, ``extra``."""
    texts = [os.environ.get("OLLAMA_ORIGINS", ""), *extra]
    entries = [entry.strip() for text in texts for entry in text.split(",")]
    wildcards = [_wildcard(entry) for entry in entries if entry]
    return "|".join(f"(?:{pattern})" for pattern in [_LOCAL_ORIGINS, _APP_ORIGINS, *wildcards])


class Guard:
    """Answers 403, before CORS and routing, to a foreign ``Host`` (unless allowed) or ``Origin``.

    Web pages can make a browser call this server: the Host check stops DNS rebinding
    (evil.example resolving to 127.0.0.1), the Origin check stops other sites' pages.
    """

    def __init__(self, app: ASGIApp, *, allow_any_host: bool, origins: re.Pattern[str]) -> None:
        self._app = app
        self._allow_any_host = allow_any_host
        self._origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = self._problem(scope) if scope["type"] == "http" else None
        if problem is None:
            await self._app(scope, receive, send)
            return
        # shaped as a 400: OpenAI has no error type for 403, and the request is what is at fault
        body = dialect_for(scope["path"]).error(400, problem)
        await JSONResponse(body, status_code=403)(scope, receive, send)

    def _problem(self, scope: Scope) -> str | None:
        headers = Headers(scope=scope)
        host, origin = headers.get("host"), headers.get("origin")
        if host is not None and not self._allow_any_host and not _is_loopback_host(host):
            return (
                f"Host header {host!r} refused: the server listens on loopback; "
                f"open it as {_loopback_url(scope)}, or start it with --host 0.0.0.0"
            )
        if origin is not None and not self._origins.fullmatch(origin):
            return f"Origin {origin!r} is not allowed; add it with OLLAMA_ORIGINS or --origins"
        return None


def _wildcard(origin: str) -> str:
    """``https://*.example.com`` as a regex: ``*`` matches anything, the rest literally."""
    return ".*".join(re.escape(part) for part in origin.split("*"))


def _is_loopback_host(host: str) -> bool:
    """Whether a ``Host`` header (port optional) names this machine: a loopback name or address.

    Unspecified addresses (``0.0.0.0``) count too: clients reach loopback through them, and
    an address literal cannot be rebound by DNS.
    """
    name = _host_name(host.strip().lower())
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _host_name(host: str) -> str:
    """The name in a ``Host`` header, without brackets or port."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.partition(":")[0] if host.count(":") == 1 else host


def _loopback_url(scope: Scope) -> str:
    """This server's own loopback URL, for the refusal message."""
    host, port = scope.get("server") or ("127.0.0.1", None)
    if not _is_loopback_host(host):
        host = "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}" if port is None else f"http://{host}:{port}"
