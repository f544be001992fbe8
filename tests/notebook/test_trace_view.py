"""Trace views of real calls through both strategies against the scripted server, and in a real kernel."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient
from sample_tools import add

from alloy_nb import Trace, ask
from alloy_nb._choices import STRATEGIES
from alloy_nb._notebook.trace_view import Comparison, compare
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply

pytestmark = pytest.mark.usefixtures("alloy_at_server")


def tool_call_trace(server, api: str) -> Trace:
    server.script(Reply(tool_calls=[Call("add", {"a": 2, "b": 3})]), Reply(text="5"))
    value, trace = ask.traced("What is 2 + 3?", tools=[add], api=api)
    assert value == "5"
    return trace


@pytest.mark.parametrize("api", STRATEGIES)
def test_a_tool_result_shows_its_tool_and_the_real_call_id(server, api: str) -> None:
    """The view reads the neutral record: the tool a result answers, and the call id where the wire API
    has ids (the native API links a result by the tool's name; alloy_nb's own ids would mislead there)."""
    trace = tool_call_trace(server, api)
    [call] = trace.responses[0].tool_calls
    html = trace._repr_html_()
    assert '<span class="at-field">tool</span><code>add</code>' in html
    shown = f'<span class="at-field">call</span><code>{call.id}</code>' in html
    assert call.id and shown == (api != "native")
    assert (f"<code>{call.id}</code>" in html) == (api != "native")


def test_scripted_reply_is_escaped(server) -> None:
    server.script(Reply(text='<script>alert("x")</script>'))
    _, trace = ask.traced("Say something")
    html = trace._repr_html_()
    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_compare_shows_both_strategies(server) -> None:
    native, openai = tool_call_trace(server, "native"), tool_call_trace(server, "openai_chat")
    comparison = compare(native, openai)
    html = comparison._repr_html_()
    assert html.count('<div class="alloy-compare-col">') == 2
    assert "tool_name" in html and openai.responses[0].tool_calls[0].id in html
    assert repr(comparison) == f"── native ──\n{native.summary()}\n\n── openai_chat ──\n{openai.summary()}"
    assert compare(native, openai, titles=("A", "B")) == Comparison((native, openai), ("A", "B"))
    with pytest.raises(ValueError, match="at least two traces"):
        compare(native)
    with pytest.raises(ValueError, match="2 traces but 1 titles"):
        compare(native, openai, titles=("A",))


def test_show_trace_displays_html_in_a_kernel(server) -> None:
    server.script(Reply(text="<b>hi</b>"))
    _, trace = ask.traced("Hi")
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "from alloy_nb import Trace\n"
                "from alloy_nb._notebook.trace_view import show_trace\n"
                f"show_trace(Trace.from_json({trace.to_json()!r}))"
            )
        ]
    )
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    [output] = notebook.cells[0].outputs
    assert output.output_type == "display_data"
    assert "&lt;b&gt;hi&lt;/b&gt;" in output.data["text/html"]
