"""A real Arize Phoenix as the sink: spans exported over OTLP/HTTP from this process and read back
through Phoenix's REST API show a tool-using call's chat and tool spans under its call span, and
Phoenix reads the conventions' attributes and message JSON as it reads any GenAI instrumentation's.
Phoenix runs as `phoenix_support` starts it (the `phoenix` fixture, in conftest.py).
"""

from __future__ import annotations

from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from phoenix_support import read_spans
from sample_tools import add

from alloy_nb import ask, otel
from alloy_nb.testing import ScriptedToolCall, ScriptedTurn as Reply

PROJECT = "alloy-nb-tests"


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
    (call,) = read_spans(phoenix, PROJECT, 1, attribute=f'alloy_nb.call.id:"{trace.id}"')
    stored = read_spans(phoenix, PROJECT, 4, trace_id=call["context"]["trace_id"])
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
