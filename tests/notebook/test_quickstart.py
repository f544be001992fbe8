"""The quickstart notebook (the README's main job) runs top to bottom in a real kernel on the embedded model."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "01_quickstart.ipynb"


def _shown(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_quickstart_notebook_runs_on_the_embedded_model(monkeypatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")  # nothing there: the notebook must start its own server
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), "commit notebooks stripped"
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert "started here: True" in _shown(code[0])
    assert "tokens, first after" in _shown(code[1])
    assert _shown(code[2]).startswith("City(name=")
    summary = _shown(code[3])
    assert "⚙ add →" in summary and "via native · ok" in summary
    assert "'tool_name': 'add'" in _shown(code[4])
