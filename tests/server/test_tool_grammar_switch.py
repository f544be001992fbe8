"""The embedded server's tool-call switches on all three chat endpoints, with SmolLM2 at temperature 0:
`_tool_grammar: false` (per request) and `alloy-nb serve --no-tool-grammar` (every request) let the model
write its reply freely; `parallel_tool_calls: false` allows one call per reply, with or without the grammar."""

from __future__ import annotations

import subprocess
from typing import Any

import httpx
import openai
import pytest
from sample_tools import SHOP_TOOLS_WIRE as TOOLS
from serve_process import serve_command, wait_until_answering

from alloy_nb.server.engine_events import ToolCalls
from alloy_nb.server.engines import ChatRequest, ToolSpec
from alloy_nb.server.llama_engine import _tool_reply

EMBEDDED = "smollm2:135m"
QUESTION = "What does cake cost after a 20 percent discount?"
SYSTEM = "You are a shop assistant. Call exactly one tool at a time."  # notebook 03's, which SmolLM2 does not follow
CHAT = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
ENDPOINTS = ("native", "openai_chat", "openai_responses")


def ask(url: str, endpoint: str, **extra: Any) -> tuple[list[tuple[str, Any]], str]:
    """Notebook 03's cake question on `endpoint` (native over HTTP; the two /v1 ones through the openai SDK
    with `extra_body`): the tool calls of the reply as (name, arguments) and its text."""
    if endpoint == "native":
        body = {"model": EMBEDDED, "messages": CHAT, "tools": TOOLS}
        body |= {"stream": False, "options": {"temperature": 0, "num_predict": 96}, **extra}
        message = httpx.post(f"{url}/api/chat", json=body, timeout=120).json()["message"]
        calls = [(c["function"]["name"], c["function"]["arguments"]) for c in message.get("tool_calls") or []]
        return calls, message["content"]
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
    if endpoint == "openai_chat":
        completion = client.chat.completions.create(
            model=EMBEDDED,
            messages=CHAT,
            tools=TOOLS,
            temperature=0,
            max_tokens=96,
            extra_body=extra,
        )
        reply = completion.choices[0].message
        return [(c.function.name, c.function.arguments) for c in reply.tool_calls or []], reply.content or ""
    response = client.responses.create(
        model=EMBEDDED,
        instructions=SYSTEM,
        input=QUESTION,
        tools=[{"type": "function", **tool["function"], "strict": False} for tool in TOOLS],
        temperature=0,
        max_output_tokens=96,
        extra_body=extra,
    )
    calls = [(item.name, item.arguments) for item in response.output if item.type == "function_call"]
    return calls, response.output_text


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_grammar_forces_a_tool_call_and_parallel_tool_calls_false_allows_one(
    embedded_url: str, endpoint: str
) -> None:
    both, _ = ask(embedded_url, endpoint)
    assert [name for name, _ in both] == ["lookup_price", "apply_discount"]  # SmolLM2 calls both at once
    [(name, arguments)] = ask(embedded_url, endpoint, parallel_tool_calls=False)[0]
    assert name == "lookup_price" and "cake" in str(arguments)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_without_the_grammar_the_reply_is_the_models_own_text(embedded_url: str, endpoint: str) -> None:
    calls, text = ask(embedded_url, endpoint, _tool_grammar=False)
    assert calls == []  # the grammar would have made this a call (the test above)
    assert text.strip() and not text.lstrip().startswith('{"tool_calls"')


def test_render_only_says_which_grammar_and_instructions_a_request_gets(embedded_url: str) -> None:
    body = {"model": EMBEDDED, "messages": CHAT, "tools": TOOLS, "stream": False, "_debug_render_only": True}

    def info(**extra: Any) -> dict[str, Any]:
        return httpx.post(f"{embedded_url}/api/chat", json=body | extra, timeout=60).json()["_debug_info"]

    forced = info()
    assert forced["grammar"]["kind"] == "tool_calls"
    assert forced["grammar"]["schema"]["anyOf"][0]["properties"]["tool_calls"]["maxItems"] == 2
    assert "grammar" not in info(_tool_grammar=False)  # the tool instructions stay, the grammar goes
    assert "You can call these tools" in info(_tool_grammar=False)["rendered_template"]
    one = info(parallel_tool_calls=False)
    assert one["grammar"]["schema"]["anyOf"][0]["properties"]["tool_calls"]["maxItems"] == 1
    assert "Call one tool at a time" in one["rendered_template"]
    assert "Call one tool at a time" not in forced["rendered_template"]


def test_a_free_reply_is_read_as_tool_calls_only_when_it_is_a_whole_envelope() -> None:
    request = ChatRequest(model=EMBEDDED, messages=[], tools=[ToolSpec("a", "", {})], tool_grammar=False)
    envelope = '{"tool_calls": [{"name": "a", "arguments": {"x": 1}}, {"name": "a", "arguments": {"x": 2}}]}'
    [calls] = list(_tool_reply(request, envelope, ()))
    assert isinstance(calls, ToolCalls) and [c.arguments for c in calls.calls] == [{"x": 1}, {"x": 2}]
    request.parallel_tool_calls = False
    [one] = list(_tool_reply(request, envelope, ()))
    assert isinstance(one, ToolCalls) and [c.arguments for c in one.calls] == [{"x": 1}]  # the first only
    [text] = list(_tool_reply(request, "I would call a with x=1.", ()))
    assert not isinstance(text, ToolCalls) and text.text == "I would call a with x=1."
    [cut] = list(_tool_reply(request, envelope[:40], ()))  # a cut envelope is not a call: the raw text
    assert not isinstance(cut, ToolCalls) and cut.text == envelope[:40]


def test_serve_no_tool_grammar_turns_the_grammar_off_for_every_request() -> None:
    port, command = serve_command("--no-tool-grammar", "--engine", "llama", "--threads", "2")
    server = subprocess.Popen(command, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/api/version", 60)
        body = {"model": EMBEDDED, "messages": CHAT, "tools": TOOLS}
        rendered = httpx.post(f"{url}/api/chat", json=body | {"_debug_render_only": True, "stream": False}).json()
        assert "grammar" not in rendered["_debug_info"]
        asked_for = httpx.post(
            f"{url}/api/chat", json=body | {"_debug_render_only": True, "stream": False, "_tool_grammar": True}
        ).json()
        assert "grammar" not in asked_for["_debug_info"]  # the server's switch wins over a request's
        for endpoint in ENDPOINTS:
            calls, text = ask(url, endpoint)
            assert calls == [] and text.strip(), endpoint  # with the grammar these were two calls
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_response_echoes_the_parallel_tool_calls_it_was_asked_for(server) -> None:
    from alloy_nb.testing import ScriptedTurn

    server.script(ScriptedTurn(text="a"), ScriptedTurn(text="b"))
    body = {"model": EMBEDDED, "input": "Hi", "stream": False}
    assert httpx.post(f"{server.url}/v1/responses", json=body).json()["parallel_tool_calls"] is True
    one = httpx.post(f"{server.url}/v1/responses", json=body | {"parallel_tool_calls": False}).json()
    assert one["parallel_tool_calls"] is False
    assert [request.parallel_tool_calls for request in server.requests] == [True, False]


def test_a_tool_reads_the_same_to_the_model_whichever_api_brought_it() -> None:
    """/v1 tools come in pydantic's key order with `additionalProperties`; /api/chat tools in Ollama's: SmolLM2
    answered notebook 03's question differently to the two (a text answer on /v1, a tool call on /api/chat)."""
    from alloy_nb.server.tool_grammar import tool_system_prompt

    pydantic_order = {
        "additionalProperties": False,
        "properties": {"item": {"title": "Item", "type": "string"}},
        "required": ["item"],
        "type": "object",
    }
    ollama_order = TOOLS[0]["function"]["parameters"]
    via_v1 = tool_system_prompt([ToolSpec("lookup_price", "Look up a price.", pydantic_order)])
    via_native = tool_system_prompt([ToolSpec("lookup_price", "Look up a price.", ollama_order)])
    assert via_v1 == via_native
    assert '{"type": "object", "required": ["item"], "properties": {"item": {"type": "string"}}}' in via_v1
