"""Execute a notebook headless in a real kernel and print what each cell showed."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def _text(output: dict) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return data.get("text/plain", "") + "\n" if data else ""


def main(path: str) -> int:
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(Path(path).parent)}}
    ).execute()
    for number, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
        print(f"\n── In [{number + 1}] " + "─" * 50)
        print(cell.source)
        shown = "".join(_text(o) for o in cell.get("outputs", []))
        if shown.strip():
            print("── Out " + "─" * 55)
            print(shown.rstrip())
    print(f"\n{path}: executed in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "notebooks/01_quickstart.ipynb"))
