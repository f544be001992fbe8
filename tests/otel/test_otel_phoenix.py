"""A real Arize Phoenix as the sink: spans exported over OTLP/HTTP from this process and read back
through Phoenix's REST API show a tool-using call's chat and tool spans under its call span, and
Phoenix reads the conventions' attributes and message JSON as it reads any GenAI instrumentation's.

Phoenix runs from its own venv (`.venv-phoenix`, made by `make test`), on free loopback ports, with
its database in a temporary folder and its telemetry and outside resources off. Nothing here is
skipped: without that venv the test fails, naming the step that makes it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from sample_tools import add

from alloy_nb import ask, otel
from alloy_nb.testing import ScriptedToolCall, ScriptedTurn as Reply

REPO = Path(__file__).resolve().parents[2]
PHOENIX = REPO / ".venv-phoenix" / "bin" / "phoenix"
PROJECT = "alloy-nb-tests"
START_TIMEOUT_S = 180.0  # about 15 s on two busy cores: database migrations, then the app
READ_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`phoenix serve` on a free loopback port, working in a temporary folder; its base URL."""
    if not PHOENIX.exists():
        pytest.fail(f"{PHOENIX} not found: `make .venv-phoenix/.installed` makes it (`make test` does).", pytrace=False)
    work = tmp_path_factory.mktemp("phoenix")
    port, grpc_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PHOENIX_", "OTEL_"))}
    env |= {
        "PHOENIX_WORKING_DIR": str(work),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    }
    log = work / "phoenix.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(PHOENIX), "serve"], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"phoenix serve exited ({process.returncode}):\n{log.read_text()[-3000:]}", pytrace=False)
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"phoenix serve did not answer in {START_TIMEOUT_S:.0f} s:\n{log.read_text()[-3000:]}", pytrace=False)


def read_spans(url: str, count: int, **filters: Any) -> list[dict[str, Any]]:
    """Spans as Phoenix's REST API gives them, once it has stored `count` that match `filters`."""
    deadline = time.monotonic() + READ_TIMEOUT_S
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        answer = httpx.get(f"{url}/v1/projects/{PROJECT}/spans", params={**filters, "limit": 100}, timeout=10)
        if answer.status_code == 200:
            found = answer.json()["data"]
            if len(found) >= count:
                return found
        time.sleep(0.25)
    raise AssertionError(f"Phoenix has {len(found)} of the {count} spans asked for ({filters}): {found}")


def test_phoenix_shows_a_tool_call_with_its_chat_and_tool_spans_under_it(phoenix: str, server) -> None:
    resource = Resource.create({"service.name": "alloy-nb-tests", "openinference.project.name": PROJECT})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{phoenix}/v1/traces", timeout=10)))
    otel.instrument(tracer_provider=provider, capture_content=True)
    try:
        server.script(Reply(tool_calls=[ScriptedToolCall("add", {"a": 2, "b": 3})]), Reply(text="It is 5."))
        value, trace = ask.traced("Add 2 and 3.", tools=[add], model="ollama:llama3.1:8b")
        assert value == "It is 5."
        assert otel.flush(timeout=30)
    finally:
        otel.uninstrument()
        provider.shutdown()
    (call,) = read_spans(phoenix, 1, attribute=f'alloy_nb.call.id:"{trace.id}"')
    stored = read_spans(phoenix, 4, trace_id=call["context"]["trace_id"])
    by_name: dict[str, list[dict[str, Any]]] = {}
    for span in stored:
        by_name.setdefault(span["name"], []).append(span)
    assert sorted(by_name) == ["call llama3.1:8b", "chat llama3.1:8b", "execute_tool add"]
    assert len(by_name["chat llama3.1:8b"]) == 2
    assert call["parent_id"] is None
    (tool,) = by_name["execute_tool add"]
    children = [*by_name["chat llama3.1:8b"], tool]
    assert {span["parent_id"] for span in children} == {call["context"]["span_id"]}
    assert [span["span_kind"] for span in by_name["chat llama3.1:8b"]] == ["LLM", "LLM"]  # Phoenix read the
    assert tool["span_kind"] == "TOOL" and tool["attributes"]["tool.name"] == "add"  # GenAI conventions
    first, second = sorted(by_name["chat llama3.1:8b"], key=lambda span: span["start_time"])
    # our gen_ai.*.messages JSON, as Phoenix parsed it into its own message attributes
    assert first["attributes"]["llm.input_messages.0.message.content"] == "Add 2 and 3."
    assert first["attributes"]["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"] == "add"
    assert second["attributes"]["llm.input_messages.2.message.role"] == "tool"
    assert second["attributes"]["llm.output_messages.0.message.content"] == "It is 5."
    assert second["attributes"]["llm.token_count.prompt"] == second["attributes"]["gen_ai.usage.input_tokens"]
