"""The HTML view of a trace: conversation layout per strategy, escaping, truncation, comparison."""

from __future__ import annotations

import json
from html import escape
from html.parser import HTMLParser

import pytest
from IPython.lib.pretty import pretty

from alloy_nb._messages import AssistantMessage, Message, ToolCall, ToolResult, UserMessage
from alloy_nb._strategies import native, openai_chat
from alloy_nb._trace import ErrorInfo, RequestEvent, ResponseEvent, ToolEvent, Trace, Usage
from alloy_nb._views.compare import comparison_html
from alloy_nb._views.text import MAX_SHOWN_CHARS
from alloy_nb._views.trace import trace_html

EVIL = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "javascript:alert(1)", "\"quotes'"]
EVIL_TEXT = " ".join(EVIL)


class _Tags(HTMLParser):
    """Every start tag with its attributes, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


NATIVE, OPENAI = "POST /api/chat", "POST /v1/chat/completions"


def trace(strategy: str = "native", **fields) -> Trace:
    return Trace(**{"model": "ollama:smollm2:135m", "host": "http://127.0.0.1:11434", "strategy": strategy, **fields})


def request(turn: int, messages: list[Message], endpoint: str = NATIVE, **fields) -> RequestEvent:
    """A request event as the loop records it: the neutral messages beside the body as that API sends them."""
    wire = native.wire_message if endpoint == NATIVE else openai_chat.wire_message
    body = {"model": "m", "messages": [wire(m, ()) for m in messages]}
    return RequestEvent(turn=turn, endpoint=endpoint, url="", messages=messages, body=body, **fields)


USER = UserMessage(text="What is 2 + 3?")


def native_tool_trace() -> Trace:
    assistant = AssistantMessage(tool_calls=(ToolCall(id="call_0", name="add", arguments={"a": 2, "b": 3}),))
    return trace(
        "native",
        tools=["add"],
        events=[
            request(0, [USER]),
            ResponseEvent(
                turn=0,
                tool_calls=[ToolCall(id="call_0", name="add", arguments={"a": 2, "b": 3})],
                usage=Usage(prompt_tokens=4, completion_tokens=14),
                done_reason="stop",
                duration_s=0.04,
            ),
            ToolEvent(turn=0, call_id="call_0", name="add", arguments={"a": 2, "b": 3}, result="5", duration_s=0.0001),
            request(1, [USER, assistant, ToolResult(call_id="call_0", name="add", text="5")]),
            ResponseEvent(
                turn=1, text="The sum is 5.", usage=Usage(prompt_tokens=5, completion_tokens=4), duration_s=1.5
            ),
        ],
        status="ok",
        result="The sum is 5.",
        duration_s=1.6,
    )


def openai_tool_trace(arguments: str = '{"a":2,"b":3}') -> Trace:
    assistant = AssistantMessage(tool_calls=(ToolCall(id="call_9bf1b11d", name="add", arguments=arguments),))
    return trace(
        "openai_chat",
        tools=["add"],
        events=[
            request(0, [USER], OPENAI),
            ResponseEvent(
                turn=0,
                tool_calls=[ToolCall(id="call_9bf1b11d", name="add", arguments=arguments)],
                done_reason="tool_calls",
                raw={"id": "chatcmpl-1"},
            ),
            ToolEvent(turn=0, call_id="call_9bf1b11d", name="add", arguments=arguments, result="5"),
            request(1, [USER, assistant, ToolResult(call_id="call_9bf1b11d", name="add", text="5")], OPENAI),
            ResponseEvent(turn=1, text="5", done_reason="stop"),
        ],
        status="ok",
        result="5",
    )


def test_a_native_tool_result_names_its_tool_and_no_id_the_wire_never_had() -> None:
    html = trace_html(native_tool_trace())
    assert '<span class="at-field">tool</span><code>add</code>' in html
    assert "call_0" not in html  # alloy_nb numbers native calls for itself; the native wire has no ids
    assert escape('"tool_name": "add"') in html and "tool_call_id" not in html  # the native body, as sent
    assert escape(json.dumps({"a": 2, "b": 3}, indent=2)) in html
    assert "1 earlier message omitted" in html and html.count("<pre>What is 2 + 3?</pre>") == 1
    assert "4 + 14 tokens" in html and "9 + 18 = 27" in html
    assert "POST /api/chat" in html and "at-status-ok" in html


def test_openai_chat_bodies_link_results_by_tool_call_id() -> None:
    html = trace_html(openai_tool_trace())
    assert '<span class="at-field">call</span><code>call_9bf1b11d</code>' in html
    assert '<span class="at-field">id</span><code>call_9bf1b11d</code>' in html
    assert escape('"tool_call_id": "call_9bf1b11d"') in html and "tool_name" not in html
    assert escape(json.dumps({"a": 2, "b": 3}, indent=2)) in html  # JSON-string arguments pretty-printed
    assert "response raw (JSON)" in html and "chatcmpl-1" in html and OPENAI in html


def test_malformed_string_arguments_are_kept_raw() -> None:
    html = trace_html(openai_tool_trace(arguments='{"a": 2, "b": '))
    assert escape('{"a": 2, "b": ') in html


def test_finalize_turn_is_marked() -> None:
    made = trace(
        "native",
        output_type="int",
        events=[
            request(0, [USER]),
            ResponseEvent(turn=0, text="five"),
            request(
                1, [USER, AssistantMessage(text="five"), UserMessage(text="Now give your final answer.")], finalize=True
            ),
            ResponseEvent(turn=1, text="5"),
        ],
        status="ok",
        result=5,
    )
    html = trace_html(made)
    assert html.count("finalize turn, no tools") == 1
    assert "1 earlier message omitted" in html and "<pre>Now give your final answer.</pre>" in html


def test_error_outcome() -> None:
    made = trace(
        events=[request(0, [USER])],
        status="error",
        error=ErrorInfo(type="ServerError", message="HTTP 500: scripted error"),
    )
    html = trace_html(made)
    assert "at-status-error" in html and "ServerError" in html and "HTTP 500: scripted error" in html


def test_interrupted_stream() -> None:
    made = trace(
        stream=True,
        events=[request(0, [USER]), ResponseEvent(turn=0, text="The sum", duration_s=0.2, ttft_s=0.008)],
        status="interrupted",
        error=ErrorInfo(type="KeyboardInterrupt", message="KeyboardInterrupt"),
    )
    html = trace_html(made)
    assert "at-status-interrupted" in html and "KeyboardInterrupt" in html
    assert "The sum" in html and "ttft 8.0 ms" in html
    assert "response raw" not in html  # streams keep no raw body


def evil_trace() -> Trace:
    return trace(
        "openai_chat",
        model=EVIL_TEXT,
        tools=[EVIL_TEXT],
        events=[
            request(0, [UserMessage(text=EVIL_TEXT)], OPENAI),
            ResponseEvent(
                turn=0,
                text=EVIL_TEXT,
                thinking=EVIL_TEXT,
                done_reason=EVIL_TEXT,
                tool_calls=[ToolCall(id=EVIL_TEXT, name=EVIL_TEXT, arguments=EVIL_TEXT)],
                raw={"content": EVIL_TEXT, EVIL_TEXT: 1},
            ),
            ToolEvent(turn=0, call_id=EVIL_TEXT, name=EVIL_TEXT, arguments={EVIL_TEXT: EVIL_TEXT}, result=EVIL_TEXT),
            ToolEvent(turn=0, call_id="2", name="fail", arguments=EVIL_TEXT, error=EVIL_TEXT),
            request(1, [ToolResult(call_id=EVIL_TEXT, name=EVIL_TEXT, text=EVIL_TEXT)], OPENAI),
        ],
        status="ok",
        result={"answer": EVIL_TEXT},
    )


@pytest.mark.parametrize("render", [trace_html, lambda t: comparison_html((t, t), (EVIL_TEXT, EVIL_TEXT))])
def test_every_data_string_is_escaped(render) -> None:
    html = render(evil_trace())
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&quot;quotes&#x27;" in html and "\"quotes'" not in html
    for tag, attrs in tags(html):
        assert tag not in {"script", "img", "iframe", "a", "object", "embed"}
        for name, value in attrs:
            assert name == "class", f"<{tag} {name}={value!r}>: only class attributes are emitted"
            assert "javascript:" not in (value or "")


def test_long_strings_are_cut_with_a_note() -> None:
    reply = "x" * 50_000
    made = trace(events=[request(0, [USER]), ResponseEvent(turn=0, text=reply)], status="ok", result=reply)
    html = trace_html(made)
    assert f"… ({50_000 - MAX_SHOWN_CHARS} more characters; see trace.to_json())" in html
    assert "x" * (MAX_SHOWN_CHARS + 1) not in html
    assert made.responses[0].text == reply  # the data keeps everything


def test_comparison_has_both_strategies_in_columns_that_stack_when_narrow() -> None:
    html = comparison_html((native_tool_trace(), openai_tool_trace()))
    assert "grid-template-columns:repeat(auto-fit,minmax(min(100%,26em),1fr))" in html
    assert html.count('<div class="alloy-compare-col">') == 2
    assert '<div class="alloy-compare-title">native</div>' in html
    assert '<div class="alloy-compare-title">openai_chat</div>' in html
    assert "tool_name" in html and "tool_call_id" in html  # each body as its API sent it
    titled = comparison_html((native_tool_trace(), openai_tool_trace()), ("left one", "right one"))
    assert "left one" in titled and "right one" in titled


def test_notebook_reprs() -> None:
    made = native_tool_trace()
    assert made._repr_html_() == trace_html(made)
    assert pretty(made) == made.summary()
