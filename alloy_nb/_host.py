"""The Ollama calls besides chat: version, models (tags), show, ps, pull, render-only and whether a host answers.

One client for the picker, `%alloy models` / `pull`, `start_local_server` and the error messages,
built on the ollama SDK's public `Client` with the configured headers; async callers run it in a
worker thread (`asyncio.to_thread`), so one implementation serves both and never blocks a loop.
`GET /api/version` and a render-only chat (`_debug_render_only`, which the SDK's `chat()` does not take) have
no SDK method, so they go through httpx with the same headers and timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._client_cache import ClientCache
from ._config import Config, authorization_scheme, current, redact_host
from .errors import http_failure, no_server

if TYPE_CHECKING:
    import ollama

QUICK_TIMEOUT = 5.0  # seconds for the small metadata calls; a chat call uses the configured timeout


@dataclass(frozen=True)
class HostModel:
    """One model the host lists: name, size on disk in bytes, and what /api/tags says of it."""

    name: str
    size: int
    family: str = ""
    quantization: str = ""
    modified: str = ""

    @property
    def label(self) -> str:
        """`smollm2:135m · 81 MB`."""
        return f"{self.name} · {human_size(self.size)}"


@dataclass(frozen=True)
class HostInfo:
    """The host's version and models, or `error`: a readable sentence saying what went wrong."""

    host: str
    version: str | None = None
    models: tuple[HostModel, ...] = ()
    error: str | None = None
    server: str = "Ollama"
    started_by: str | None = None  # alloy_nb's server: "notebook" (start_local_server, %alloy serve) or "cli"

    @property
    def embedded(self) -> bool:
        """Whether this is alloy_nb's own server (its /api/version says so)."""
        return self.server == "alloy-nb"


class Host:
    """An Ollama host as the configuration describes it (URL, headers); `shown` is safe to print."""

    def __init__(self, config: Config | None = None, *, url: str | None = None, timeout: float = QUICK_TIMEOUT) -> None:
        config = config or current()
        self.url, self.headers = config.connection(url)
        self.timeout = timeout

    @property
    def shown(self) -> str:
        return redact_host(self.url)

    def client(self) -> ollama.Client:
        return _clients.get(self.url, self.timeout, self.headers)

    def answers(self) -> bool:
        """Whether an Ollama-shaped server answers `GET /api/version` now."""
        try:
            return self.version() is not None
        except Exception:
            return False

    def version(self) -> str | None:
        """The server's version string; raises httpx errors when it cannot be read."""
        version = self._version_reply().get("version")
        return str(version) if version is not None else None

    def _version_reply(self) -> dict[str, Any]:
        import httpx

        reply = httpx.get(f"{self.url}/api/version", headers=dict(self.headers), timeout=self.timeout)
        reply.raise_for_status()
        body = reply.json()
        return body if isinstance(body, dict) else {}

    def render_only(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /api/chat` with `body` (a native request) and `_debug_render_only`: the server's answer,
        which holds `_debug_info.rendered_template` when it can render without generating."""
        import httpx

        try:
            reply = httpx.post(
                f"{self.url}/api/chat",
                json={**body, "stream": False, "_debug_render_only": True},
                headers=dict(self.headers),
                timeout=self.timeout,
                follow_redirects=False,  # a redirect would resend the body and the headers elsewhere
            )
        except httpx.ConnectError:
            raise no_server(self.shown) from None
        answer = reply.json() if reply.headers.get("content-type", "").startswith("application/json") else None
        if reply.status_code >= 400:
            detail = answer.get("error") if isinstance(answer, dict) else None
            credentials = authorization_scheme(self.headers)
            raise http_failure(self.shown, reply.status_code, str(detail or reply.text[:500]), credentials=credentials)
        return answer if isinstance(answer, dict) else {}

    def models(self) -> tuple[HostModel, ...]:
        return tuple(_host_model(m) for m in self.client().list().models)

    def show(self, model: str) -> ollama.ShowResponse:
        return self.client().show(model)

    def running(self) -> ollama.ProcessResponse:
        return self.client().ps()

    def pull(self, model: str) -> Iterator[ollama.ProgressResponse]:
        """Stream `/api/pull` progress; raises OllamaUnavailable when nothing answers."""
        import httpx

        try:
            # no read timeout: Ollama is silent while it verifies a multi-GB download
            yield from _clients.get(self.url, None, self.headers).pull(model, stream=True)
        except (ConnectionError, httpx.ConnectError):  # the SDK wraps only non-streamed connect errors
            raise no_server(self.shown) from None

    def info(self) -> HostInfo:
        """Version and models, never raising: a failure comes back as `HostInfo.error`."""
        import httpx
        import ollama

        try:
            about = self._version_reply()
            version, server = about.get("version"), str(about.get("server") or "Ollama")
            started_by = about.get("started_by")
            return HostInfo(
                self.url,
                version=None if version is None else str(version),
                models=self.models(),
                server=server,
                started_by=None if started_by is None else str(started_by),
            )
        except (httpx.ConnectError, ConnectionError) as exc:
            reason = "connection refused" if "refused" in str(exc).lower() else str(exc) or type(exc).__name__
            return HostInfo(self.url, error=f"No server at {self.shown}: {reason}. {START_HINT}")
        except httpx.TimeoutException:
            return HostInfo(
                self.url, error=f"The server at {self.shown} did not answer within {self.timeout:g}s. {START_HINT}"
            )
        except (httpx.HTTPStatusError, ollama.ResponseError) as exc:
            status = exc.response.status_code if isinstance(exc, httpx.HTTPStatusError) else exc.status_code
            if status in (401, 403):  # a host that wants a key: say whether one was sent
                refused = http_failure(self.shown, status, "", credentials=authorization_scheme(self.headers))
                return HostInfo(self.url, error=str(refused))
            return HostInfo(
                self.url, error=f"The server at {self.shown} answered HTTP {status}; is it an Ollama server?"
            )
        except Exception as exc:
            return HostInfo(
                self.url, error=f"The server at {self.shown} did not answer like Ollama ({type(exc).__name__}: {exc})."
            )


START_HINT = "Start ollama serve or run %alloy serve."


def human_size(size: int) -> str:
    """Bytes in decimal units, as Ollama shows them.

    >>> human_size(81_000_000), human_size(4_800_000_000), human_size(512)
    ('81 MB', '4.8 GB', '512 B')
    """
    amount = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1000:
            return f"{amount:.0f} {unit}" if amount >= 10 or unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{amount:.1f} TB"


def _new_client(url: str, timeout: float | None, headers: tuple[tuple[str, str], ...]) -> ollama.Client:
    """A client for the host calls; `timeout=None` waits as long as a read takes (connecting still gives up)."""
    import httpx
    import ollama

    limits = httpx.Timeout(timeout) if timeout is not None else httpx.Timeout(QUICK_TIMEOUT, read=None)
    return ollama.Client(host=url, timeout=limits, headers=dict(headers), follow_redirects=False)


_clients: ClientCache[ollama.Client] = ClientCache(_new_client)


def _host_model(listed: Any) -> HostModel:
    details = listed.details
    return HostModel(
        name=str(listed.model),
        size=int(listed.size or 0),
        family=str(getattr(details, "family", None) or ""),
        quantization=str(getattr(details, "quantization_level", None) or ""),
        modified=str(listed.modified_at or "")[:19].replace("T", " "),
    )
