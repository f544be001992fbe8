"""The notebook layer beyond JupyterLab: Notebook 7 and Voila, in headless Chromium.

A small notebook (the embedded server with the demo engine, a streamed `%%alloy` cell, the
picker) runs in each; the reply must render as inert HTML, the picker's three dropdowns must show.
Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest
from conftest import _free_port, chromium_page

CELLS = [
    "%load_ext alloy_nb\n%alloy serve --engine scripted",
    "%%alloy\nHello **there**",
    "%alloy picker",
]
RUN_MS = 180_000
_ALL_RAN_JS = """() => {
  const prompts = Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt'))
    .map(p => p.textContent.trim());
  return prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p));
}"""


def _write_notebook(root: Path) -> Path:
    path = root / "frontends.ipynb"
    document = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    document.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(document, path)
    return path


def _check_outputs(page: Any) -> None:
    reply = page.locator(".jp-OutputArea-output", has_text="You said: Hello").first
    reply.wait_for(timeout=RUN_MS)
    assert reply.locator("strong", has_text="there").count() == 1, "the reply is rendered Markdown"
    assert page.locator(".jp-OutputArea-output script").count() == 0
    selects = page.locator(".jp-OutputArea-output select")
    selects.nth(2).wait_for(timeout=RUN_MS)
    assert selects.count() == 3, "the picker's model, strategy and thinking dropdowns"


def test_notebook_7_runs_the_cells(notebook7: Any, artifacts_dir: Path) -> None:
    path = _write_notebook(notebook7.root)
    with chromium_page({"width": 1100, "height": 1200}) as page:
        page.goto(f"{notebook7.url}/notebooks/{path.name}?token={notebook7.token}", timeout=RUN_MS)
        page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=RUN_MS)
        page.wait_for_function(
            "() => !!document.querySelector('.jp-NotebookKernelStatus, .jp-Notebook')", timeout=RUN_MS
        )
        time.sleep(2)  # the kernel connects
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
        page.wait_for_function(_ALL_RAN_JS, timeout=RUN_MS, polling=500)
        _check_outputs(page)
        page.screenshot(path=str(artifacts_dir / "notebook7.png"), full_page=True)


@contextmanager
def _voila(notebook: Path, tmp_path: Path) -> Iterator[str]:
    """Voila serving `notebook` (the embedded server started by its cells); yields its URL."""
    port = _free_port()
    env = {
        **os.environ,
        "OLLAMA_HOST": "http://127.0.0.1:9",
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    log = tmp_path / "voila.log"
    with log.open("wb") as sink:
        voila = subprocess.Popen(
            [sys.executable, "-m", "voila", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1", str(notebook)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=notebook.parent,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=30).status_code < 500:  # each try runs the notebook
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail(f"Voila did not start:\n{log.read_text(errors='replace')[-2000:]}")
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(voila.pid, signal.SIGTERM)
        try:
            voila.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(voila.pid, signal.SIGKILL)


def test_voila_renders_the_cells_with_widgets(lab_root: Path, tmp_path: Path, artifacts_dir: Path) -> None:
    with _voila(_write_notebook(lab_root), tmp_path) as url, chromium_page({"width": 1100, "height": 1200}) as page:
        page.goto(url, timeout=RUN_MS)
        _check_outputs(page)
        page.screenshot(path=str(artifacts_dir / "voila.png"), full_page=True)


QUICKSTART = Path(__file__).resolve().parents[2] / "notebooks" / "01_quickstart.ipynb"


def _check_quickstart(page: Any) -> None:
    """The quickstart's results as a reader sees them, on the embedded model."""
    outputs = page.locator(".jp-OutputArea-output")
    outputs.filter(has_text="is still running: try your own").first.wait_for(timeout=RUN_MS)
    for shown in ("smollm2:135m · native", "City(name=", "⚙ add"):  # the streamed footer, a typed value, a tool call
        outputs.filter(has_text=shown).first.wait_for(timeout=30_000)  # display updates may land a moment later
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0


def _fits(page: Any) -> list[str]:
    from test_layout import _OVERFLOW_JS

    return page.evaluate(_OVERFLOW_JS, ".jp-Notebook .jp-CodeCell, body")


def test_the_quickstart_runs_in_notebook_7_and_fits_at_800_and_1280_px(notebook7: Any, artifacts_dir: Path) -> None:
    from test_jupyterlab import copy_without_outputs

    copy_without_outputs(QUICKSTART, notebook7.root / QUICKSTART.name)
    with chromium_page({"width": 1280, "height": 1600}) as page:
        page.goto(f"{notebook7.url}/notebooks/{QUICKSTART.name}?token={notebook7.token}", timeout=RUN_MS)
        page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=RUN_MS)
        time.sleep(2)  # the kernel connects
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
        page.wait_for_function(_ALL_RAN_JS, timeout=RUN_MS * 3, polling=500)
        _check_quickstart(page)
        problems = {}
        for width in (1280, 800):
            page.set_viewport_size({"width": width, "height": 1600})
            time.sleep(0.5)
            problems[width] = _fits(page)
            page.screenshot(path=str(artifacts_dir / f"notebook7-quickstart-{width}px.png"), full_page=True)
        assert problems == {1280: [], 800: []}, problems


def test_the_quickstart_renders_in_voila(lab_root: Path, tmp_path: Path, artifacts_dir: Path) -> None:
    from test_jupyterlab import copy_without_outputs

    copy_without_outputs(QUICKSTART, lab_root / QUICKSTART.name)
    with _voila(lab_root / QUICKSTART.name, tmp_path) as url, chromium_page({"width": 800, "height": 1600}) as page:
        page.goto(url, timeout=RUN_MS * 3)
        _check_quickstart(page)
        assert _fits(page) == []
        page.screenshot(path=str(artifacts_dir / "voila-quickstart-800px.png"), full_page=True)
