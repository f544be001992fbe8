"""Host (DNS rebinding) and Origin guards with CORS, over real HTTP like Ollama's."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator

import httpx
import ollama
import openai
import pytest
from serve_process import serve_command, wait_until_answering

from alloy_nb.cli import parser as _parser
from alloy_nb.testing import ScriptedEngine, ServerThread

MODEL = "smollm2:135m"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "stream": False}
BODIES = {  # what each POST route is sent
    "/api/chat": CHAT,
    "/v1/chat/completions": CHAT,
    "/api/generate": {"model": MODEL, "prompt": "Hi", "stream": False},
    "/api/embed": {"model": MODEL, "input": ["Hi"]},
    "/api/embeddings": {"model": MODEL, "prompt": "Hi"},
    "/v1/embeddings": {"model": MODEL, "input": "Hi", "encoding_format": "float"},
}
EXTRA_ORIGINS = "https://*.example.com, http://notebook.test:8888"


@pytest.fixture(scope="module")
def loopback() -> Iterator[ServerThread]:
    """A server on 127.0.0.1, built while OLLAMA_ORIGINS allows two more origins."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OLLAMA_ORIGINS", EXTRA_ORIGINS)
        thread = ServerThread(ScriptedEngine())
    with thread:
        yield thread


@pytest.fixture(scope="module")
def everywhere() -> Iterator[ServerThread]:
    """A server bound to 0.0.0.0: it accepts any Host."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("OLLAMA_ORIGINS", raising=False)
        thread = ServerThread(ScriptedEngine(), host="0.0.0.0")
    with thread:
        yield thread


def _local(server: ServerThread) -> str:
    return f"http://127.0.0.1:{server.port}"


def _call(server: ServerThread, path: str, **headers: str) -> httpx.Response:
    """GET, or POST the route's body on POST routes, to ``server`` over loopback."""
    url = _local(server) + path
    if path in BODIES:
        return httpx.post(url, json=BODIES[path], headers=headers)
    return httpx.get(url, headers=headers)


# --- Host -----------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "evil.example:11434", "localhost.evil.example", "127.0.0.1.nip.io"])
@pytest.mark.parametrize(
    "path", ["/api/chat", "/api/generate", "/api/embed", "/api/embeddings", "/api/tags", "/api/version", "/"]
)
def test_foreign_host_gets_403_in_ollamas_error_shape(loopback: ServerThread, host: str, path: str) -> None:
    loopback.engine.reset()
    reply = _call(loopback, path, host=host)
    assert reply.status_code == 403
    message = reply.json()["error"]
    assert message.startswith(f"Host header '{host}' refused: the server listens on loopback")
    assert f"open it as {_local(loopback)}" in message and "--host 0.0.0.0" in message
    assert loopback.engine.requests == []  # refused before the engine sees anything


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/embeddings", "/v1/models"])
def test_foreign_host_gets_403_in_openais_error_shape(loopback: ServerThread, path: str) -> None:
    reply = _call(loopback, path, host="evil.example")
    assert reply.status_code == 403
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Host header 'evil.example' refused")


@pytest.mark.parametrize(
    "host",
    [
        "localhost:{port}",
        "LocalHost",
        "127.0.0.1:{port}",
        "127.3.2.1",
        "[::1]:{port}",
        "[::1]",
        "::1",
        "notebook.localhost:{port}",
        "0.0.0.0:{port}",
    ],
)
def test_loopback_hosts_are_served(loopback: ServerThread, host: str) -> None:
    reply = _call(loopback, "/api/chat", host=host.format(port=loopback.port))
    assert reply.status_code == 200 and reply.json()["message"]["content"] == "You said: Hi"


def test_a_server_bound_to_all_addresses_accepts_any_host(everywhere: ServerThread) -> None:
    for path in ["/api/tags", "/api/chat", "/v1/models"]:
        assert _call(everywhere, path, host="evil.example:11434").status_code == 200


def test_a_server_bound_to_all_addresses_still_checks_origins(everywhere: ServerThread) -> None:
    reply = _call(everywhere, "/api/tags", host="192.168.1.20:11434", origin="https://evil.example")
    assert reply.status_code == 403 and "access-control-allow-origin" not in reply.headers


# --- Origin ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://localhost.evil.example",
        "https://example.com",
        "http://notebook.test:9999",
        "null",
    ],
)
def test_foreign_origin_gets_403_and_no_cors_headers(loopback: ServerThread, origin: str) -> None:
    native = _call(loopback, "/api/tags", origin=origin)
    assert native.status_code == 403 and "access-control-allow-origin" not in native.headers
    assert native.json() == {"error": f"Origin '{origin}' is not allowed; add it with OLLAMA_ORIGINS or --origins"}
    compat = _call(loopback, "/v1/chat/completions", origin=origin)
    assert compat.status_code == 403 and "access-control-allow-origin" not in compat.headers
    assert compat.json()["error"]["type"] == "invalid_request_error"
    assert compat.json()["error"]["message"].startswith(f"Origin '{origin}' is not allowed")


@pytest.mark.parametrize("path", ["/api/generate", "/api/embed", "/api/embeddings", "/v1/embeddings"])
def test_foreign_origin_gets_403_on_the_generate_and_embedding_routes(loopback: ServerThread, path: str) -> None:
    reply = _call(loopback, path, origin="https://evil.example")
    assert reply.status_code == 403 and "access-control-allow-origin" not in reply.headers
    error = reply.json()["error"]
    message = error["message"] if path.startswith("/v1/") else error
    assert message == "Origin 'https://evil.example' is not allowed; add it with OLLAMA_ORIGINS or --origins"


def test_foreign_origin_preflight_gets_403(loopback: ServerThread) -> None:
    reply = httpx.options(
        _local(loopback) + "/api/chat",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert reply.status_code == 403 and "access-control-allow-origin" not in reply.headers


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:8888",
        "http://localhost",
        "https://127.0.0.1:3000",
        "http://0.0.0.0:8080",
        "http://[::1]:8888",
        "app://x",
        "file://",
        "tauri://localhost",
        "vscode-webview://abc",
        "vscode-file://vscode-app",
        # from OLLAMA_ORIGINS
        "https://lab.example.com",
        "https://a.b.example.com",
        "http://notebook.test:8888",
    ],
)
def test_allowed_origin_gets_its_cors_header(loopback: ServerThread, origin: str) -> None:
    for path in ["/api/chat", "/api/tags", "/v1/chat/completions", *BODIES]:
        reply = _call(loopback, path, origin=origin)
        assert reply.status_code == 200 and reply.headers["access-control-allow-origin"] == origin


def test_streamed_reply_to_an_allowed_origin_carries_the_cors_header(loopback: ServerThread) -> None:
    body = CHAT | {"stream": True}
    with httpx.stream(
        "POST", _local(loopback) + "/api/chat", json=body, headers={"origin": "http://localhost:8888"}
    ) as reply:
        assert reply.headers["access-control-allow-origin"] == "http://localhost:8888"
        assert '"done":true' in reply.read().decode()


@pytest.mark.parametrize("path", ["/api/chat", "/v1/chat/completions"])
def test_preflight_from_an_allowed_origin_succeeds(loopback: ServerThread, path: str) -> None:
    asked = "authorization, content-type, user-agent, x-requested-with, openai-beta, x-stainless-os"
    reply = httpx.options(
        _local(loopback) + path,
        headers={
            "origin": "vscode-webview://abc",
            "access-control-request-method": "POST",
            "access-control-request-headers": asked,
        },
    )
    assert reply.status_code in (200, 204)
    assert reply.headers["access-control-allow-origin"] == "vscode-webview://abc"
    assert "POST" in reply.headers["access-control-allow-methods"]
    allowed = {name.strip().lower() for name in reply.headers["access-control-allow-headers"].split(",")}
    assert {name.strip() for name in asked.split(",")} <= allowed


# --- clients and the command line -----------------------------------------------------------


def test_sdks_without_an_origin_are_served(loopback: ServerThread) -> None:
    assert MODEL in [model.model for model in ollama.Client(host=loopback.url).list().models]
    with openai.OpenAI(base_url=loopback.url + "/v1", api_key="ollama") as client:
        assert MODEL in [model.id for model in client.models.list()]


def test_origins_option_is_repeatable() -> None:
    args = _parser().parse_args(["serve", "--origins", "https://a.test", "--origins", "app://*,https://b.test"])
    assert args.origins == ["https://a.test", "app://*,https://b.test"]


def test_serve_allows_origins_given_on_the_command_line() -> None:
    port, command = serve_command(
        "--engine",
        "scripted",
        "--origins",
        "https://*.lab.test",
        "--origins",
        "http://other.test:3000,http://third.test",
    )
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api/tags"
    try:
        wait_until_answering(url, 20)
        for origin in ["https://x.lab.test", "http://other.test:3000", "http://third.test"]:
            assert httpx.get(url, headers={"origin": origin}).headers["access-control-allow-origin"] == origin
        assert httpx.get(url, headers={"origin": "https://evil.example"}).status_code == 403
        assert httpx.get(url, headers={"host": "evil.example"}).status_code == 403
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
