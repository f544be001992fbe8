"""Content only when asked, in the conventions' JSON shape and capped like the trace; credentials
never; a failing exporter never fails a call; no OpenTelemetry, a clear error."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from sample_tools import add

import alloy_nb
from alloy_nb import ask, otel
from alloy_nb.otel.content import MAX_INPUT_CHARS
from alloy_nb.testing import ScriptedToolCall, ScriptedTurn as Reply

MODEL = "ollama:llama3.1:8b"
SECRETS = ("pa55word-in-url", "sk-key-in-call", "env-key-of-ollama", "header-token")


def test_content_is_recorded_as_the_conventions_messages_when_asked(server, spans, api: str) -> None:
    otel.instrument(tracer_provider=spans.provider, capture_content=True)
    server.script(Reply(tool_calls=[ScriptedToolCall("add", {"a": 2, "b": 3})]), Reply(text="It is 5."))
    ask("Add 2 and 3.", tools=[add], api=api, model=MODEL, system="Be brief.")
    first, second = spans.named("chat ")
    assert json.loads(first["attributes"]["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Add 2 and 3."}]},
    ]
    asked = json.loads(first["attributes"]["gen_ai.output.messages"])
    tool_call_id = asked[0]["parts"][0]["id"]
    assert asked == [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": tool_call_id, "name": "add", "arguments": {"a": 2, "b": 3}}],
            "finish_reason": "tool_call",
        }
    ]
    assert json.loads(second["attributes"]["gen_ai.input.messages"])[2:] == [
        {"role": "assistant", "parts": asked[0]["parts"]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": tool_call_id, "response": "5"}]},
    ]
    assert json.loads(second["attributes"]["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "It is 5."}], "finish_reason": "stop"}
    ]
    definitions = json.loads(first["attributes"]["gen_ai.tool.definitions"])
    assert [(d["type"], d["name"], d["description"]) for d in definitions] == [("function", "add", "Add two integers.")]
    tool = spans.one("execute_tool ")
    assert json.loads(tool["attributes"]["gen_ai.tool.call.arguments"]) == {"a": 2, "b": 3}
    assert tool["attributes"]["gen_ai.tool.call.result"] == "5"


def test_the_environment_turns_content_on(server, spans, monkeypatch) -> None:
    monkeypatch.setenv(otel.CAPTURE_ENV, "True")
    otel.instrument(tracer_provider=spans.provider)
    ask("Hello", model=MODEL)
    assert json.loads(spans.one("chat ")["attributes"]["gen_ai.input.messages"])[0]["parts"][0]["content"] == "Hello"


def test_content_is_capped_like_the_trace(server, spans) -> None:
    otel.instrument(tracer_provider=spans.provider, capture_content=True)
    server.script(Reply(text="y" * 5000))
    ask("x" * 5000, model=MODEL, trace_max_chars=1000)
    chat = spans.one("chat ")
    prompt = json.loads(chat["attributes"]["gen_ai.input.messages"])[0]["parts"][0]["content"]
    reply = json.loads(chat["attributes"]["gen_ai.output.messages"])[0]["parts"][0]["content"]
    assert prompt.startswith("x" * 900) and len(prompt) < 1100
    assert reply.startswith("y" * 900) and len(reply) < 1100


def test_error_messages_are_content_too(server, spans) -> None:
    otel.instrument(tracer_provider=spans.provider, capture_content=True)
    server.script(Reply(status=400, error="the prompt was rude"))
    with pytest.raises(alloy_nb.ServerError):
        ask("Hi", model=MODEL)
    assert "the prompt was rude" in spans.one("call ")["status_message"]


def test_credentials_never_reach_a_span_even_with_content(server, spans, monkeypatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", SECRETS[2])
    otel.instrument(tracer_provider=spans.provider, capture_content=True)
    host = server.url.replace("http://", f"http://alice:{SECRETS[0]}@")
    server.script(Reply(tool_calls=[ScriptedToolCall("add", {"a": 1, "b": 1})]), Reply(text="2"))
    ask("One and one?", tools=[add], model=MODEL, host=host, headers={"X-Token": SECRETS[3]})
    ask("Again", model=MODEL, api="openai_chat", api_key=SECRETS[1])
    assert server.requests[0].headers["x-token"] == SECRETS[3]  # they were all sent
    assert server.requests[-1].headers["authorization"] == f"Bearer {SECRETS[1]}"
    recorded = spans.all()
    assert len(recorded) == 6
    text = repr([span | {"start": 0, "end": 0} for span in recorded])
    assert [secret for secret in SECRETS if secret in text] == []
    assert "***" not in text  # the redacted host never appears: the server address is the bare hostname


class Failing(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise OSError("the collector is down")


class Exploding(SimpleSpanProcessor):
    def on_end(self, span: ReadableSpan) -> None:
        raise RuntimeError("a broken processor")


@pytest.mark.parametrize("processor", [SimpleSpanProcessor(Failing()), Exploding(Failing())])
def test_a_failing_exporter_never_fails_a_call(server, processor) -> None:
    provider = TracerProvider()
    provider.add_span_processor(processor)
    otel.instrument(tracer_provider=provider)
    try:
        assert ask("Hi", model=MODEL) == "You said: Hi"
        assert ask.map(["a", "b"], model=MODEL, progress=False).values == ["You said: a", "You said: b"]
        otel.flush(timeout=10)
        assert ask("Still here", model=MODEL) == "You said: Still here"  # the writer thread lives on
    finally:
        otel.uninstrument()


def test_without_opentelemetry_instrument_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.trace", None)
    with pytest.raises(ImportError, match=r"pip install 'alloy_nb\[otel\]'.*opentelemetry-sdk"):
        otel.instrument()


def test_importing_the_otel_module_imports_no_opentelemetry() -> None:
    script = "import sys, alloy_nb.otel; print([m for m in sys.modules if m.startswith('opentelemetry')])"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_the_last_calls_spans_are_written_when_the_process_ends(server) -> None:
    script = """
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from alloy_nb import ask, otel

provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(formatter=lambda span: span.name + "\\n")))
otel.instrument(tracer_provider=provider)
print(ask("Hi", model="ollama:llama3.1:8b"))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["You said: Hi", "chat llama3.1:8b", "call llama3.1:8b"]


def test_images_appear_as_their_digest_and_thinking_as_reasoning() -> None:
    from alloy_nb._images import ImageRecord
    from alloy_nb._messages import AssistantMessage, UserMessage
    from alloy_nb.otel.content import input_messages

    record = ImageRecord(media_type="image/png", size=12, sha256="ab" * 32, thumbnail="data:image/png;base64,AAAA")
    messages = [UserMessage(text="What is this?", images=(0,)), AssistantMessage(text="A dot.", thinking="Hmm.")]
    assert json.loads(input_messages(messages, [record])) == [
        {
            "role": "user",
            "parts": [
                {"type": "text", "content": "What is this?"},
                {"type": "image", "modality": "image", "mime_type": "image/png", "sha256": "ab" * 32},
            ],
        },
        {
            "role": "assistant",
            "parts": [{"type": "reasoning", "content": "Hmm."}, {"type": "text", "content": "A dot."}],
        },
    ]


def test_a_long_tool_loop_s_spans_each_hold_at_most_a_bounded_conversation(server, spans) -> None:
    otel.instrument(tracer_provider=spans.provider, capture_content=True)

    @alloy_nb.tool
    def page(n: int) -> str:
        """Read one page of the book."""
        return str(n) * 190_000

    calls = [Reply(tool_calls=[ScriptedToolCall("page", {"n": n})]) for n in range(1, 8)]
    server.script(*calls, Reply(text="Read it all."))
    assert ask("Read the book.", tools=[page], model=MODEL, system="Be brief.", max_tool_turns=10) == "Read it all."
    chats = spans.named("chat ")
    shown = [json.loads(chat["attributes"]["gen_ai.input.messages"]) for chat in chats]
    assert all(len(chat["attributes"]["gen_ai.input.messages"]) <= MAX_INPUT_CHARS for chat in chats)
    last = shown[-1]
    assert last[0]["parts"][0]["content"] == "Be brief." and "earlier messages left out" in json.dumps(last[1])
    assert last[-1]["parts"][0]["response"] == "7" * 190_000  # the newest stay whole
    assert len(shown[0]) == 2  # a short conversation is all there
