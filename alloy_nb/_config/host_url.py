"""Host strings: `OLLAMA_HOST` read exactly as Ollama reads it, credentials in a URL turned into a
header, and hosts redacted for display."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from functools import lru_cache
from urllib.parse import unquote

from ..errors import ConfigurationError

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_PORT = 11434


def normalize_host(host: str) -> str:
    """A base URL from a host spelled the way `OLLAMA_HOST` may be, read exactly as Ollama reads it.

    No scheme means `http` and port 11434; a scheme without a port means its own port (80, 443);
    a trailing `/` is dropped, a path is kept, and so are `user:password@` credentials.

    >>> normalize_host(""), normalize_host(":56789"), normalize_host("gpu-box")
    ('http://127.0.0.1:11434', 'http://127.0.0.1:56789', 'http://gpu-box:11434')
    >>> normalize_host("http://gpu-box"), normalize_host("https://gpu-box"), normalize_host("[::1]/ollama/")
    ('http://gpu-box:80', 'https://gpu-box:443', 'http://[::1]:11434/ollama')
    """
    text = host.strip()
    if not text:
        return DEFAULT_HOST
    scheme, has_scheme, rest = text.partition("://")
    if not has_scheme:
        scheme, rest = "http", text
    scheme = scheme.lower()
    netloc, _, path = rest.partition("/")
    credentials, _, address = netloc.rpartition("@")
    name, port = _split_port(address, host)
    if scheme not in ("http", "https") or not _valid_host_name(name):
        raise ConfigurationError(
            f"OLLAMA_HOST {redact_host(host)!r} is not a host Ollama can reach; write it like 127.0.0.1:11434, "
            "gpu-box, http://gpu-box:11434 or https://proxy.example/ollama."
        )
    if port is None:
        port = DEFAULT_PORT if not has_scheme else (443 if scheme == "https" else 80)
    userinfo = f"{credentials}@" if credentials else ""
    path = "/" + path.strip("/") if path.strip("/") else ""
    return f"{scheme}://{userinfo}{name or '127.0.0.1'}:{port}{path}"


def _split_port(address: str, original: str) -> tuple[str, int | None]:
    """`host:port`, `[v6]:port`, `:port` or a bare host, split; a port that is not a number is an error."""
    if address.startswith("["):
        end = address.find("]")
        name, after = address[: end + 1], address[end + 1 :]
        text = after[1:] if after.startswith(":") else None
        if end < 0 or (after and text is None):
            text = "?"
    elif address.count(":") == 1:
        name, text = address.split(":")
    else:
        name, text = address, None
    if text is None:
        return name, None
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigurationError(f"OLLAMA_HOST {redact_host(original)!r} has no valid port number; use 1-65535.")
    return name, int(text)


def _valid_host_name(name: str) -> bool:
    if name.startswith("["):
        return len(name) > 2 and all(c in "0123456789abcdefABCDEF:.%" or c.isalnum() for c in name[1:-1])
    return all(c.isalnum() or c in "-._" for c in name)


def connection(
    host: str, headers: Mapping[str, str], api_key: str | None = None
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The one authentication rule of every strategy and the host client: a configured Authorization
    header wins; else credentials in the URL become a Basic one; else an API key (OLLAMA_API_KEY)
    becomes a Bearer one. The URL goes on without credentials.

    >>> connection("https://me:pw@proxy.example:443", {})
    ('https://proxy.example:443', (('Authorization', 'Basic bWU6cHc='),))
    >>> connection("https://me:pw@proxy.example:443", {"authorization": "Bearer t"})
    ('https://proxy.example:443', (('authorization', 'Bearer t'),))
    >>> connection("https://ollama.com:443", {}, "k1")
    ('https://ollama.com:443', (('Authorization', 'Bearer k1'),))
    """
    url, sent = _connection(host, tuple(sorted(headers.items())))
    if api_key and not any(name.lower() == "authorization" for name, _ in sent):
        sent = tuple(sorted((*sent, ("Authorization", f"Bearer {api_key}"))))
    return url, sent


def authorization_scheme(headers: Iterable[tuple[str, str]]) -> str | None:
    """The scheme of the Authorization header among `headers` ("Bearer", "Basic"; "credentials" for
    any other value), never a part of its secret; None without one.

    >>> authorization_scheme([("Authorization", "Bearer k1")]), authorization_scheme([("X-Team", "t")])
    ('Bearer', None)
    >>> authorization_scheme([("authorization", "sk-secret")])
    'credentials'
    """
    for name, value in headers:
        if name.lower() == "authorization":
            scheme = value.partition(" ")[0].lower()
            return _SCHEMES.get(scheme, "credentials") if " " in value else "credentials"
    return None


_SCHEMES = {"bearer": "Bearer", "basic": "Basic", "digest": "Digest", "token": "Token"}


@lru_cache(maxsize=64)
def _connection(host: str, headers: tuple[tuple[str, str], ...]) -> tuple[str, tuple[tuple[str, str], ...]]:
    scheme, _, rest = host.partition("://")
    netloc, slash, path = rest.partition("/")
    credentials, at, address = netloc.rpartition("@")
    if not at:
        return host, headers
    url = f"{scheme}://{address}{slash}{path}"
    if any(name.lower() == "authorization" for name, _ in headers):
        return url, headers
    user, _, password = credentials.partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
    return url, tuple(sorted((*headers, ("Authorization", f"Basic {token}"))))


@lru_cache(maxsize=64)
def redact_host(url: str) -> str:
    """The host URL without any `user:password@` part, safe to show and to trace.

    >>> redact_host("https://me:secret@proxy.example:443/ollama")
    'https://***@proxy.example:443/ollama'

    Everything before the last `@` ahead of any query is hidden, a `/` in it too: a password or token
    with an unencoded `/` (base64 has them) is still a secret, even where the URL cannot be parsed.

    >>> redact_host("http://me:s3cr/et@127.0.0.1:9"), redact_host("http://host:11434/api/tags?q=a@b")
    ('http://***@127.0.0.1:9', 'http://host:11434/api/tags?q=a@b')
    """
    scheme, has_scheme, rest = url.partition("://")
    if not has_scheme:
        rest = url
    before_query = rest.split("?", 1)[0].split("#", 1)[0]
    if "@" not in before_query:
        return url
    shown = "***@" + rest[before_query.rindex("@") + 1 :]
    return f"{scheme}://{shown}" if has_scheme else shown
