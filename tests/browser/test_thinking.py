"""A thinking model's streamed reply in real JupyterLab: the muted Thinking section, folded above the
answer once it starts, and the footer's thinking time. Screenshots: folded, and opened by a click."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_jupyterlab import _CELLS, run_new_notebook

THOUGHT = "Rayleigh scattering: short wavelengths scatter more, so <blue> wins over red."
CELLS = [
    "%load_ext alloy_nb\n"
    "import alloy_nb\n"
    "from alloy_nb.testing import ScriptedEngine, ScriptedTurn, ServerThread\n"
    "engine = ScriptedEngine()\n"
    "server = ServerThread(engine).start()\n"
    f"engine.script(ScriptedTurn(thinking={THOUGHT!r}, text='The sky is **blue**.', chunk_delay=0.05))\n"
    "alloy_nb.configure(host=server.url)",
    "%%alloy -m ollama:qwen3:0.6b --think\nWhy is the sky blue?",
]


def test_a_streamed_thinking_reply_folds_above_the_answer(lab: Any, page: Any, artifacts_dir: Path) -> None:
    notebook = run_new_notebook(lab, page, "thinking.ipynb", CELLS)
    assert "Error" not in notebook.errors(), notebook.errors()
    output = notebook.outputs(page.locator(_CELLS).nth(1))
    thinking = output.locator("details.alloy-thinking")
    assert thinking.count() == 1 and thinking.get_attribute("open") is None, "folded once the answer is there"
    assert output.locator("strong", has_text="blue").count() == 1, "the answer renders as Markdown"
    footer = output.locator(".alloy-footer").inner_text()
    assert "qwen3:0.6b · native" in footer and "thought " in footer, footer
    output.screenshot(path=str(artifacts_dir / "thinking-folded.png"))

    thinking.locator("summary", has_text="Thinking").click()
    assert thinking.get_attribute("open") is not None
    shown = thinking.inner_text()
    assert "short wavelengths scatter more, so <blue> wins" in shown, shown  # escaped: shown as text
    output.screenshot(path=str(artifacts_dir / "thinking-open.png"))
