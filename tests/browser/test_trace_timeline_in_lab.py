"""The trace timeline in real JupyterLab: a tool-calling call's trace shows one bar per request and
per tool run on one axis, and a batch's table folds a row per item (screenshots)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_jupyterlab import _CELLS, run_new_notebook

CELLS = [
    "%load_ext alloy_nb\n"
    "import alloy_nb\n"
    "from alloy_nb import ask, tool\n"
    "from alloy_nb.testing import ScriptedEngine, ScriptedToolCall, ScriptedTurn, ServerThread\n"
    "engine = ScriptedEngine()\n"
    "server = ServerThread(engine).start()\n"
    "alloy_nb.configure(host=server.url)\n"
    "@tool\n"
    "def add(a: int, b: int) -> int:\n"
    '    """Add two integers."""\n'
    "    return a + b\n"
    "engine.script(ScriptedTurn(tool_calls=[ScriptedToolCall('add', {'a': 2, 'b': 3})], delay=0.2),\n"
    "              ScriptedTurn(chunks=['2 + 3 ', '= 5.'], delay=0.1, chunk_delay=0.05))",
    "value, trace = ask.traced('Add 2 and 3.', tools=[add])\ntrace",
    "ask.map(['one', 'two', 'three'], progress=False)",
]


def test_the_timeline_shows_requests_and_tool_runs_on_one_axis(lab: Any, page: Any, artifacts_dir: Path) -> None:
    notebook = run_new_notebook(lab, page, "timeline.ipynb", CELLS)
    assert "Error" not in notebook.errors(), notebook.errors()
    traced = notebook.outputs(page.locator(_CELLS).nth(1))
    timeline = traced.locator(".at-tl").first
    timeline.wait_for()
    bars = timeline.locator(".at-tl-bar")
    assert bars.count() >= 3, f"a bar per request and per tool run, found {bars.count()}"
    widths = [bar.bounding_box()["width"] for bar in bars.all()]
    assert all(width > 0 for width in widths) and len(set(round(w) for w in widths)) > 1, widths
    assert "add" in timeline.inner_text()
    timeline.screenshot(path=str(artifacts_dir / "timeline-trace.png"))

    batch = notebook.outputs(page.locator(_CELLS).nth(2))
    batch.locator("summary", has_text="timeline").click()
    rows = batch.locator(".at-tl-bar")
    assert rows.count() >= 3, "a row per item"
    batch.screenshot(path=str(artifacts_dir / "timeline-batch.png"))
