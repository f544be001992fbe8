"""A model the host does not have: the advice fits how the server was started. A real Ollama names
`ollama pull`; the embedded server started from a notebook (`start_local_server`, `%alloy serve`) names
`%alloy serve --model NAME=PATH.gguf` and `start_local_server(models=...)`; one started with `alloy-nb
serve` names its `--model NAME=PATH.gguf` option. The server says which in its `/api/version` answer."""

from __future__ import annotations

import subprocess

import httpx
import pytest
from serve_process import serve_command, wait_until_answering

import alloy_nb
from alloy_nb import ask, start_local_server
from alloy_nb._host import Host, HostInfo
from alloy_nb.errors import model_missing

MISSING = "ollama:qwen9:1b"


@pytest.mark.parametrize(
    ("embedded", "started_by", "says", "never"),
    [
        (False, None, "Pull it with `ollama pull qwen9:1b` (in a notebook: `%alloy pull qwen9:1b`)", "GGUF"),
        (
            True,
            "notebook",
            "`%alloy stop` then `%alloy serve --model qwen9:1b=PATH.gguf` (from Python: "
            "`alloy_nb.start_local_server(reuse=False, models={'qwen9:1b': 'PATH.gguf'})`)",
            "ollama pull",
        ),
        (
            True,
            "cli",
            "stopping `alloy-nb serve` and starting it again with `--model qwen9:1b=PATH.gguf` added to its options",
            "%alloy",
        ),
        (True, None, "serve a GGUF file as well with `alloy-nb serve --model qwen9:1b=PATH.gguf`", "ollama pull"),
    ],
)
def test_the_advice_for_each_way_a_server_was_started(
    embedded: bool, started_by: str | None, says: str, never: str
) -> None:
    available = ["smollm2:135m"]
    message = str(
        model_missing("qwen9:1b", "http://127.0.0.1:11434", available, embedded=embedded, started_by=started_by)
    )
    assert message.startswith(
        "Model 'qwen9:1b' is not available at http://127.0.0.1:11434. Models there: smollm2:135m."
    )
    assert says in message and never not in message


def test_host_info_reads_how_the_server_was_started() -> None:
    assert not HostInfo("h").embedded and HostInfo("h", server="alloy-nb").embedded
    assert HostInfo("h", server="alloy-nb", started_by="cli").started_by == "cli"


def test_a_server_started_from_python_or_a_notebook_says_so(alloy_at_server) -> None:
    server = start_local_server(reuse=False, engine="scripted", timeout=60)
    try:
        about = httpx.get(f"{server.url}/api/version", timeout=5).json()
        assert about["server"] == "alloy-nb" and about["started_by"] == "notebook"
        info = Host(url=server.url).info()
        assert info.embedded and info.started_by == "notebook"
        with pytest.raises(alloy_nb.ModelNotFound) as missing:
            ask("hi", model=MISSING)
        assert "`%alloy serve --model qwen9:1b=PATH.gguf`" in str(missing.value)
        assert "ollama pull" not in str(missing.value)
    finally:
        server.stop()


def test_a_server_started_with_alloy_nb_serve_says_so(alloy_at_server) -> None:
    port, command = serve_command("--engine", "scripted")
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/api/version", timeout=60)
        assert httpx.get(f"{url}/api/version", timeout=5).json()["started_by"] == "cli"
        alloy_nb.configure(host=url)
        with pytest.raises(alloy_nb.ModelNotFound) as missing:
            ask("hi", model=MISSING)
        assert "`--model qwen9:1b=PATH.gguf` added to its options" in str(missing.value)
        assert "%alloy" not in str(missing.value) and "ollama pull" not in str(missing.value)
    finally:
        process.terminate()
        process.wait(timeout=10)
