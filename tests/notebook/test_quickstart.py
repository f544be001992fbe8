"""The quickstart notebook (the README's main job) runs top to bottom in a real kernel on the embedded model."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from alloy_nb._host import Host

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "01_quickstart.ipynb"


def _shown(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def _cell(notebook: nbformat.NotebookNode, snippet: str) -> nbformat.NotebookNode:
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and snippet in c.source]
    return cell


def test_quickstart_notebook_runs_on_the_embedded_model(monkeypatch) -> None:
    for var in ("ALLOY_MODEL", "ALLOY_EXTRA_JSON", "ALLOY_SYSTEM", "ALLOY_MAX_TOKENS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")  # nothing there: the notebook must start its own server
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "commit notebooks stripped"
    assert code[0].source.startswith("%load_ext alloy_nb") and "still running" in code[-1].source

    started = time.perf_counter()
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    print(f"\n01_quickstart.ipynb executed in {time.perf_counter() - started:.1f}s")

    assert "started here: True" in _shown(code[0])
    streamed = _cell(notebook, "%%alloy --max-tokens 48")
    final = streamed.outputs[-1]["data"]
    assert "text/html" in final and "text/markdown" not in final, "a %%alloy reply renders as inert HTML"
    reply, _, footer = final["text/plain"].rpartition("— ")
    assert reply.strip(), "the streamed reply is shown"
    assert "smollm2:135m · native" in footer and "tokens" in footer and "first token" in footer
    from_python = _shown(_cell(notebook, 'ask("List three colours, one per line."'))
    assert "'num_predict': 48" in from_python and "'role': 'user'" in from_python
    assert _shown(_cell(notebook, "output=City")).startswith("City(name=")
    summary = _shown(_cell(notebook, "ask.traced("))
    assert "⚙ add →" in summary and "via native · ok" in summary
    left_running = _shown(code[-1])
    assert "is still running: try your own %%alloy cell below." in left_running, "the reader's next cell works"
    url = left_running.split()[3]
    deadline = time.monotonic() + 15
    while Host(url=url, timeout=0.5).answers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Host(url=url, timeout=0.5).answers(), "the server the notebook started ends with its kernel"
