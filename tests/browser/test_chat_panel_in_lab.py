"""The chat panel in real JupyterLab, used as a student would: `alloy_nb.chat(tools=[add])` against the
scripted server, a message typed and sent, the reply streaming in (thinking folded, the tool call and its
result inline, a code block), a second message, a third the server refuses (the error shown, the message
kept in the box), "What the model saw". Then in light and dark at 1280 and
800 px: every text reads (contrast at least 3:1) and nothing runs off the output area. Screenshots go to
test-artifacts/browser/chat-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_jupyterlab import _CELLS, WIDGET_MS, run_new_notebook
from test_layout import each_theme
from test_views_themes import _CONTRAST_JS, _FIT_JS, FLOOR

SETUP = (
    "%load_ext alloy_nb\n"
    "import alloy_nb\n"
    "from alloy_nb import tool\n"
    "from alloy_nb.testing import ScriptedEngine, ScriptedToolCall, ScriptedTurn, ServerThread\n"
    "engine = ScriptedEngine()\n"
    "server = ServerThread(engine).start()\n"
    "alloy_nb.configure(host=server.url, model='ollama:smollm2:135m', log_db='calls.db')\n"
    "@tool\n"
    "def add(a: int, b: int) -> int:\n"
    '    """Add two integers."""\n'
    "    return a + b\n"
    "engine.script(\n"
    "    ScriptedTurn(thinking='The user wants a sum, so I call add with 2 and 3.',\n"
    "                 tool_calls=[ScriptedToolCall('add', {'a': 2, 'b': 3})], delay=0.2),\n"
    "    ScriptedTurn(chunks=['2 + 3 ', 'is **5**. ', 'In Python:\\n\\n', '```python\\n', 'print(2 + 3)  # a comment ',\n"
    "                        'long enough to need wrapping at eight hundred pixels wide, and then some more\\n', '```\\n',\n"
    "                        '<script>alert(1)</script>'], chunk_delay=0.3),\n"
    "    ScriptedTurn(text='You asked me to add 2 and 3; the add tool said 5.', chunk_delay=0.05),\n"
    "    ScriptedTurn(status=400, error='the scripted server refuses <b>this</b> one'),\n"
    ")"
)
PANEL = "panel = alloy_nb.chat(tools=[add])\npanel"
# Records every distinct text the panel's conversation shows while a reply streams.
_WATCH_JS = """(area) => {
  window.__chatStates = [];
  const record = () => {
    const text = area.innerText.trim();
    const states = window.__chatStates;
    if (states[states.length - 1] !== text) states.push(text);
  };
  new MutationObserver(record).observe(area, {subtree: true, childList: true, characterData: true});
}"""


def test_chat_panel_streams_a_reply_and_reads_in_light_and_dark(lab: Any, page: Any, artifacts_dir: Path) -> None:
    notebook = run_new_notebook(lab, page, "chat.ipynb", [SETUP, PANEL])
    assert "Error" not in notebook.errors(), notebook.errors()
    cell = page.locator(_CELLS).nth(1)
    outputs = notebook.outputs(cell)
    box = outputs.locator("textarea")
    box.wait_for(timeout=WIDGET_MS)
    assert outputs.locator("select").count() == 3, "the picker's model, strategy and think dropdowns"
    page.locator(".jp-SideBar .lm-TabBar-tab.lm-mod-current").first.click()  # fold the file browser

    outputs.evaluate(_WATCH_JS)
    box.fill("What is 2 + 3? <b>not bold</b>")
    outputs.locator("button", has_text="Send").click()
    outputs.locator(".at-role-assistant", has_text="2 + 3 is").wait_for(timeout=WIDGET_MS)
    assert "streaming…" in outputs.inner_text() and "print(2 + 3)" not in outputs.inner_text(), "still streaming"
    outputs.screenshot(path=str(artifacts_dir / "chat-streaming-1280px-light.png"))
    reply = outputs.locator(".alloy-view strong", has_text="5")
    reply.wait_for(timeout=WIDGET_MS)
    outputs.locator(".at-meta", has_text="smollm2:135m").first.wait_for(timeout=WIDGET_MS)  # the footer: ended
    page.wait_for_function("(el) => el.value === ''", arg=box.element_handle(), timeout=WIDGET_MS)

    states = page.evaluate("window.__chatStates")
    assert any("2 + 3 is" in s and "print(2 + 3)" not in s for s in states), "the reply showed while it streamed"
    text = outputs.inner_text()
    assert "What is 2 + 3? <b>not bold</b>" in text, "the user's message, as text"
    assert "<script>alert(1)</script>" in text and outputs.locator("script").count() == 0, "model text is inert"
    assert outputs.locator("details.alloy-thinking:not([open])").count() == 1, "the thinking, folded"
    assert outputs.locator(".at-tool", has_text="tool call").count() == 1
    assert outputs.locator(".at-tool", has_text="result").locator("pre", has_text="5").count() == 1
    assert outputs.locator("pre.av-prompt code", has_text="print(2 + 3)").count() == 1, "the code block"

    box.fill("What did you just do?")
    outputs.locator("button", has_text="Send").click()
    outputs.locator(".alloy-view", has_text="the add tool said 5").last.wait_for(timeout=WIDGET_MS)
    page.wait_for_function("(el) => el.value === ''", arg=box.element_handle(), timeout=WIDGET_MS)
    box.fill("And now?")
    outputs.locator("button", has_text="Send").click()  # the server answers 400: shown, the message kept
    outputs.locator(".at-retry", has_text="refuses <b>this</b> one").wait_for(timeout=WIDGET_MS)
    page.wait_for_function("(el) => !el.disabled", arg=box.element_handle(), timeout=WIDGET_MS)
    assert box.input_value() == "And now?"
    outputs.locator("button", has_text="What the model saw").click()
    outputs.locator("pre.av-prompt", has_text="And now?").first.wait_for(timeout=WIDGET_MS)
    outputs.locator("details.alloy-thinking summary").click()  # unfolded: checked and shot too

    problems: dict[str, list[str]] = {}
    for theme, shade in each_theme(page):
        for width in (1280, 800):
            page.set_viewport_size({"width": width, "height": 2400})
            page.wait_for_timeout(600)
            cell.scroll_into_view_if_needed()
            outputs.screenshot(path=str(artifacts_dir / f"chat-{width}px-{shade}.png"))
            contrast = page.evaluate(_CONTRAST_JS, {"selector": _CELLS, "floor": FLOOR})
            if found := contrast["found"] + page.evaluate(_FIT_JS, _CELLS):
                problems[f"{theme} at {width} px"] = found
    assert problems == {}, problems
