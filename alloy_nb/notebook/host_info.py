"""What an Ollama host says about itself: `GET /api/version` and `GET /api/tags`, never raising."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..config import redact_host

if TYPE_CHECKING:
    import httpx

START_HINT = "Start ollama serve or run %alloy serve."


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


def read_host(host: str, timeout: float = 5.0) -> HostInfo:
    """Ask `host` for its version and models; failures come back as `HostInfo.error`."""
    import httpx

    shown = redact_host(host)
    try:
        with httpx.Client(base_url=host, timeout=timeout) as client:
            version = _get(client, "/api/version").get("version")
            listed = _get(client, "/api/tags").get("models") or []
        models = tuple(_host_model(m) for m in listed)
    except httpx.ConnectError as exc:
        reason = "connection refused" if "refused" in str(exc).lower() else str(exc) or type(exc).__name__
        return HostInfo(host, error=f"No server at {shown}: {reason}. {START_HINT}")
    except httpx.TimeoutException:
        return HostInfo(host, error=f"The server at {shown} did not answer within {timeout:g}s. {START_HINT}")
    except httpx.HTTPStatusError as exc:
        path = exc.request.url.path
        return HostInfo(host, error=f"The server at {shown} answered HTTP {exc.response.status_code} for {path}; "
                                    "is it an Ollama server?")
    except (httpx.HTTPError, httpx.InvalidURL, ValueError, TypeError, KeyError, AttributeError) as exc:
        return HostInfo(host, error=f"The server at {shown} did not answer like Ollama ({type(exc).__name__}: {exc}).")
    return HostInfo(host, version=str(version) if version is not None else None, models=models)


def _host_model(listed: dict[str, Any]) -> HostModel:
    details = listed.get("details") or {}
    return HostModel(
        name=str(listed["name"]),
        size=int(listed.get("size") or 0),
        family=str(details.get("family") or ""),
        quantization=str(details.get("quantization_level") or ""),
        modified=str(listed.get("modified_at") or "")[:19].replace("T", " "),
    )


def _get(client: httpx.Client, path: str) -> dict[str, Any]:
    response = client.get(path)
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict):
        raise ValueError(f"{path} returned {type(body).__name__}, expected a JSON object")
    return body


def human_size(size: int) -> str:
    """Bytes in decimal units, as Ollama shows them: `81 MB`, `4.8 GB`."""
    amount = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1000:
            return f"{amount:.0f} {unit}" if amount >= 10 or unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{amount:.1f} TB"
