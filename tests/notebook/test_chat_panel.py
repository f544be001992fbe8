"""The chat panel against the scripted server: a message and its streamed reply, the thinking folded,
tool calls and results inline, clear, export as one trace, errors shown with the message kept, model
text escaped, what the model saw, Stop; the streamed widgets bounded; `%alloy chat`; and the panel
in a real kernel."""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from sample_tools import add

import alloy_nb
from alloy_nb._notebook import chat_reply
from alloy_nb._notebook.chat_panel import ChatPanel, chat
from alloy_nb._notebook.chat_reply import CHUNK_CHARS, LiveReply
from alloy_nb._trace import Trace
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply


@pytest.fixture
def panel(alloy_at_server) -> Iterator[ChatPanel]:
    alloy_nb.configure(model="ollama:smollm2:135m")
    shown = chat()
    yield shown
    shown.close()


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every render of the reply's text as HTML (the chunk so far, and each stretch once it ends), in order."""
    renders: list[str] = []
    draw = chat_reply.reply_html

    def recording(text: str, *, badge: str | None) -> str:
        renders.append(draw(text, badge=badge))
        return renders[-1]

    monkeypatch.setattr(chat_reply, "reply_html", recording)
    return renders


def html_of(widget: Any) -> str:
    """Every HTML widget's value under `widget`, in order."""
    own = [widget.value] if type(widget).__name__ == "HTML" else []
    return "".join(own + [html_of(child) for child in getattr(widget, "children", ())])


def shown(panel: ChatPanel) -> str:
    return html_of(panel.transcript)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_message_gets_its_reply_streamed_into_the_panel(panel: ChatPanel, server, live: list[str]) -> None:
    server.script(Reply(chunks=["Hello", " there", ", Ada."], chunk_delay=0.1))
    trace = panel.send("Hi, I am Ada.")
    page = shown(panel)
    assert "Hi, I am Ada." in page and "<p>Hello there, Ada.</p>" in page
    assert "smollm2:135m · native" in page, "the footer under the reply"
    assert "<p>Hello</p>" in live[0] and any("<p>Hello there</p>" in r for r in live), "drawn while it streamed"
    assert trace is not None and trace.status == "ok" and trace.stream
    assert not panel.busy and not panel.send_button.disabled and panel.stop_button.disabled


def test_the_next_message_sends_the_conversation_so_far(panel: ChatPanel, server) -> None:
    server.script(Reply(text="Hello Ada."), Reply(text="Your name is Ada."))
    panel.send("My name is Ada.")
    panel.send("What is my name?")
    sent = [(m["role"], m["content"]) for m in server.requests[-1].messages]
    assert sent == [("user", "My name is Ada."), ("assistant", "Hello Ada."), ("user", "What is my name?")]


def test_thinking_streams_then_folds_above_the_answer(panel: ChatPanel, server) -> None:
    server.script(Reply(thinking="Two and two make four.", text="Four."))
    panel.send("2 + 2?")
    page = shown(panel)
    assert '<details class="alloy-thinking"><summary>Thinking' in page, "folded: no `open`"
    assert "Two and two make four." in page
    assert page.index("Two and two") < page.index("<p>Four.</p>")


def test_tool_calls_and_results_show_inline_between_the_turns(alloy_at_server) -> None:
    alloy_nb.configure(model="ollama:smollm2:135m")
    panel = chat(tools=[add])
    try:
        alloy_at_server.script(
            Reply(text="Let me add.", tool_calls=[Call("add", {"a": 2, "b": 3})]), Reply(text="The sum is 5.")
        )
        trace = panel.send("What is 2 + 3?")
        page = shown(panel)
        call, result = page.index("⚙ tool call"), page.index("→ result")
        assert page.index("Let me add.") < call < result < page.index("The sum is 5.")
        assert "&quot;a&quot;: 2" in page[call:result] and ">5</pre>" in page[result:]
        assert trace is not None and [e.result for e in trace.tool_events] == ["5"]
        assert "1 tool run" in page
    finally:
        panel.close()


def test_clear_forgets_the_conversation(panel: ChatPanel, server) -> None:
    server.script(Reply(text="Hello Ada."), Reply(text="I do not know."))
    panel.send("My name is Ada.")
    panel.clear()
    assert panel.transcript.children == () and panel.history.exchanges == [] and panel.trace is None
    panel.send("What is my name?")
    assert [m["role"] for m in server.requests[-1].messages] == ["user"]


def test_export_gives_one_trace_with_every_turn(panel: ChatPanel, server, tmp_path: Path, monkeypatch) -> None:
    server.script(Reply(text="Hello Ada."), Reply(text="Your name is Ada."))
    panel.send("My name is Ada.")
    panel.send("What is my name?")
    trace = panel.trace
    assert trace is not None
    assert [r.turn for r in trace.requests] == [0, 1] and [r.text for r in trace.responses] == [
        "Hello Ada.",
        "Your name is Ada.",
    ]
    assert trace.requests[1].messages[-1].text == "What is my name?" and trace.status == "ok"
    saved = Trace.from_json(panel.export(tmp_path / "chat.json").read_text())
    assert [r.text for r in saved.responses] == ["Hello Ada.", "Your name is Ada."]

    monkeypatch.chdir(tmp_path)
    panel.export_button.click()
    written = list(tmp_path.glob("alloy-chat-*.json"))
    assert len(written) == 1 and len(json.loads(written[0].read_text())["events"]) == 4
    assert "Saved 2 exchanges as a trace" in panel.status.value


def test_an_error_shows_in_the_panel_and_the_message_stays(panel: ChatPanel) -> None:
    alloy_nb.configure(host=_closed_port_url())
    panel.input.value = "Hello?"
    panel.send_button.click()
    assert panel.wait(30)
    page = shown(panel)
    assert "OllamaUnavailable" in page and "still in the box" in page
    assert panel.input.value == "Hello?" and not panel.input.disabled and not panel.busy
    assert panel.history.next_history() == [], "a failed exchange is not sent as history"


def test_a_model_the_host_lacks_shows_and_a_message_sent_from_code_lands_in_the_box(panel: ChatPanel) -> None:
    alloy_nb.configure(model="ollama:no-such-model")
    panel.send("Hello?")  # never raises
    assert "ModelNotFound" in shown(panel)
    assert panel.input.value == "Hello?"


def test_model_and_tool_text_is_escaped(alloy_at_server, live: list[str]) -> None:
    alloy_nb.configure(model="ollama:smollm2:135m")
    panel = chat(tools=[add])
    try:
        alloy_at_server.script(
            Reply(tool_calls=[Call("add", {"a": "<img src=x onerror=alert(1)>", "b": 3})]),
            Reply(chunks=["<script>alert(2)</script>", " and ", "<b>bold</b>"], chunk_delay=0.1),
        )
        panel.send("<i>hi</i>")
        page = shown(panel) + "".join(live)
        assert "<script>" not in page and "<img" not in page and "<b>bold" not in page and "<i>hi" not in page
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page and "&lt;i&gt;hi&lt;/i&gt;" in page
    finally:
        panel.close()


def test_what_the_model_saw_is_the_rendered_prompt_or_the_messages(panel: ChatPanel, server) -> None:
    panel.seen_toggle.value = True
    assert "Send a message" in panel.seen.value
    server.script(Reply(text="Hello."))
    panel.send("Say <hello>.")
    assert "would read" in panel.seen.value and "Say &lt;hello&gt;." in panel.seen.value
    assert any(getattr(request, "render_only", False) for request in server.requests)

    alloy_nb.configure(extra={"ollama_api": "openai_chat"})
    server.script(Reply(text="Hi again."))
    panel.send("Once more.")
    assert "cannot render the prompt" in panel.seen.value and "Once more." in panel.seen.value
    panel.seen_toggle.value = False
    assert panel.seen.value == ""


def test_stop_ends_the_reply_and_keeps_it_out_of_the_history(panel: ChatPanel, server) -> None:
    server.script(Reply(chunks=[f"word{i} " for i in range(40)], chunk_delay=0.1))
    panel.input.value = "Talk."
    panel.send_button.click()
    deadline = time.monotonic() + 20
    while "word1" not in shown(panel) and time.monotonic() < deadline:
        time.sleep(0.05)
    panel.stop()
    assert panel.wait(20)
    assert "Stopped" in shown(panel) and "word39" not in shown(panel)
    assert panel.trace is not None and panel.trace.status == "interrupted"
    assert panel.history.next_history() == []


def test_a_long_reply_streams_in_bounded_chunks_at_a_bounded_rate() -> None:
    clock = [0.0]
    reply = LiveReply("m", clock=lambda: clock[0])
    sizes: list[int] = []
    original = reply._set

    def measured(widget: Any, value: str) -> None:
        sizes.append(len(value))
        original(widget, value)

    reply._set = measured  # type: ignore[method-assign]
    line = "a line of a long streamed reply, about fifty chars\n"
    for index in range(2000):  # 100k characters, 2000 pieces
        clock[0] = index * 0.01  # 100 pieces a second
        reply.take("text", line)
    assert reply.updates <= 2000 * 0.01 * 14 + 60, "throttled: at most 14 renders a second, plus a widget per chunk"
    assert max(sizes) < 2 * CHUNK_CHARS + 1000, "a render sends one chunk, never the whole reply"
    reply.finish("m · native")
    children = reply.box.children
    assert len(children) == 2 and children[0].value.count("a line of") == 2000, "one Markdown widget, then the footer"


def test_a_chunk_never_ends_inside_a_code_block() -> None:
    ticks = itertools.count()
    reply = LiveReply("m", clock=lambda: float(next(ticks)))  # a second per piece: every piece is drawn
    code = ["```python\n", *["x = 1  # a line of code, forty chars\n"] * 200, "```\n"]  # ~7k characters
    for piece in [*code, *["and then some text\n"] * 10]:
        reply.take("text", piece)
    chunks = reply.box.children
    assert len(chunks) == 2, "the code block whole in one chunk, the text after it in the next"
    assert (
        chunks[0].value.count('<pre class="av-prompt">') == 1
        and chunks[0].value.count("# a line of code, forty chars") == 200
    )


def test_alloy_chat_magic_gives_a_panel_with_the_notebooks_tools(shell, capsys: pytest.CaptureFixture[str]) -> None:
    shell.user_ns["add"] = add
    panel = shell.run_line_magic("alloy", "chat -t add --system 'Be brief.'")
    try:
        assert isinstance(panel, ChatPanel) and panel.tools == [add]
        assert panel.options == {"system": "Be brief."}
    finally:
        panel.close()
    assert alloy_nb.chat is chat
    shell.run_line_magic("alloy", "help")
    assert "  %alloy chat     A chat panel: streamed replies" in shell.display_pub.outputs[-1]["text/plain"]


KERNEL_CELLS = [
    "import os, alloy_nb\nalloy_nb.configure(host=os.environ['OLLAMA_HOST'], model='ollama:smollm2:135m')",
    "panel = alloy_nb.chat()\npanel",
    "trace = panel.send('Hello <there>')\nprint(trace.status, len(panel.trace.requests))",
]


def test_the_panel_in_a_real_kernel_saves_its_widget_state(server, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ALLOY_MODEL", "ALLOY_EXTRA_JSON"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    server.script(Reply(chunks=["General ", "<Kenobi>"]))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in KERNEL_CELLS])
    NotebookClient(notebook, timeout=60, kernel_name="python3", store_widget_state=True).execute()

    shown_panel = notebook.cells[1].outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in shown_panel
    assert shown_panel["text/plain"].startswith("ChatPanel: 0 exchanges")
    assert notebook.cells[2].outputs[0]["text"] == "ok 1\n"
    state = notebook.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    html = " ".join(m["state"].get("value", "") for m in state.values() if m["model_name"] == "HTMLModel")
    assert "Hello &lt;there&gt;" in html and "General &lt;Kenobi&gt;" in html and "<Kenobi>" not in html
