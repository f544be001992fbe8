"""The class notebooks (01, 02, 03, 04, 09: the ones with solutions in notebooks/solutions/) in real JupyterLab,
light and dark, at 1280 and 800 px: what a student sees after Run All (issue 32).

Each notebook is executed once with nbclient, on the embedded model, into the lab's root and signed there (a
notebook's HTML keeps its styles only when trusted), then opened and only looked at: running them through the
UI as well would double the test's minutes for nothing the other browser tests do not already cover. Checked:
no cell failed, every exercise check shows "Not yet:" (they ship with empty answers), nothing in an output runs
past the notebook's edge at 800 px, and output text reads in dark mode (the views test's contrast floor).
04's picker shows from its saved widget state, marked disconnected: no kernel stands behind it any more.
Full-page screenshots go to test-artifacts/browser/class-NN-<width>px-<light|dark>.png.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.sign import NotebookNotary
from test_jupyterlab import _CELLS, PAGE_LOAD_MS, WIDGET_MS, Notebook
from test_layout import each_theme
from test_views_themes import _CONTRAST_JS, _FIT_JS, FLOOR

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
CLASS_NOTEBOOKS = sorted(path.stem for path in (NOTEBOOKS / "solutions").glob("*.py"))  # one per class notebook
CHECK = "from alloy_nb.testing.course import check_"  # a check cell's first line, as tests/notebook reads it
CELL_TIMEOUT_S = 300
WIDTHS = (1280, 800)

# The notebook's own scroller in JupyterLab 4: the height of its cells is what a "full page" is here (the lab's
# body never scrolls), without the blank room Lab adds below the last cell to scroll it up.
_HEIGHTS_JS = """() => {
  const outer = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer');
  const cells = outer.querySelectorAll('.jp-Cell');
  const bottom = cells[cells.length - 1].getBoundingClientRect().bottom - outer.getBoundingClientRect().top;
  return {page: window.innerHeight, shown: outer.clientHeight, cells: Math.ceil(outer.scrollTop + bottom) + 24};
}"""


@pytest.fixture
def executed(lab_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """The class notebooks and their solutions copied into the lab's root, executed there and trusted, before
    the lab starts (so it runs on quiet cores, and reads the notary's place from its config); seconds each."""
    for name in ("ALLOY_MODEL", "ALLOY_EXTRA_JSON", "ALLOY_SYSTEM", "ALLOY_MAX_TOKENS", "ALLOY_MAX_TOOL_TURNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")  # nothing there: each notebook starts its own server
    shutil.copytree(NOTEBOOKS / "solutions", lab_root / "solutions")
    for stem in CLASS_NOTEBOOKS:
        shutil.copy(NOTEBOOKS / f"{stem}.ipynb", lab_root)
    # One at a time: two embedded llama.cpp servers on two cores slow each other tenfold (03 took 210 s, not 13).
    seconds = {stem: _execute(lab_root / f"{stem}.ipynb") for stem in CLASS_NOTEBOOKS}

    # A notary of the test's own, not the user's (~/.local/share/jupyter): the lab reads it from its config.
    notary_dir = tmp_path / "notary"
    notary_dir.mkdir()
    config_dir = tmp_path / "scratch" / "jupyter-config"  # JUPYTER_CONFIG_DIR of the `lab` fixture
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps({"NotebookNotary": {"data_dir": str(notary_dir)}})
    )
    notary = NotebookNotary(data_dir=str(notary_dir))
    for stem in CLASS_NOTEBOOKS:
        notebook = nbformat.read(lab_root / f"{stem}.ipynb", as_version=4)
        notary.sign(notebook)
        assert notary.check_signature(notebook)
    return seconds


def _execute(path: Path) -> float:
    """Run the notebook in place, in a fresh kernel, outputs saved; seconds taken."""
    notebook = nbformat.read(path, as_version=4)
    started = time.monotonic()
    NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        allow_errors=True,  # every failing cell is reported by the test, not only the first
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    nbformat.write(notebook, path)
    return time.monotonic() - started


def test_class_notebooks_in_light_and_dark_at_1280_and_800_px(
    executed: dict[str, float], lab: Any, page: Any, artifacts_dir: Path
) -> None:  # `executed` before `lab`: pytest sets fixtures up in this order, and the lab reads its config
    assert len(CLASS_NOTEBOOKS) == 5, CLASS_NOTEBOOKS
    failed = {stem: _error_outputs(lab.root / f"{stem}.ipynb") for stem in CLASS_NOTEBOOKS}
    assert not any(failed.values()), f"cells failed under nbclient: {failed}"

    page.set_default_timeout(WIDGET_MS)
    problems: dict[str, list[str]] = {}
    lowest: dict[str, float] = {}
    shots: list[Path] = []
    started = time.monotonic()
    for stem in CLASS_NOTEBOOKS:
        _open(lab, page, f"{stem}.ipynb")
        said = [text.strip() for text in _check_outputs(page)]
        assert said and all(text.startswith("Not yet:") for text in said), f"{stem}: the checks said {said}"
        for _, shade in each_theme(page):
            for width in WIDTHS:
                path = artifacts_dir / f"class-{stem[:2]}-{width}px-{shade}.png"
                _full_page_screenshot(page, width, path)
                shots.append(path)
                if width == 800 and (overflow := page.evaluate(_FIT_JS, _CELLS)):
                    problems[f"{stem} overflows at 800px, {shade}"] = overflow
                if shade == "dark":
                    contrast = page.evaluate(_CONTRAST_JS, {"selector": _CELLS, "floor": FLOOR})
                    lowest[f"{stem} {width}px"] = round(contrast["lowest"], 2)
                    if contrast["found"]:
                        problems[f"{stem} reads poorly at {width}px, dark"] = contrast["found"]
        _shut_kernels(lab)
    print(f"\nexecuted with nbclient: {', '.join(f'{stem} {s:.0f}s' for stem, s in executed.items())}")
    print(f"opened and screenshotted in {time.monotonic() - started:.0f}s; lowest dark contrast: {lowest}")
    print("screenshots:\n  " + "\n  ".join(str(path.relative_to(REPO)) for path in shots))
    assert problems == {}, problems


def _error_outputs(path: Path) -> list[str]:
    notebook = nbformat.read(path, as_version=4)
    return [
        f"{output.get('ename')}: {output.get('evalue')} in {cell.source[:60]!r}"
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


def _open(lab: Any, page: Any, name: str) -> None:
    """The notebook alone in a fresh workspace (`reset`: earlier notebooks' tabs are not restored), its
    outputs drawn, kernel idle, the file browser folded."""
    page.set_viewport_size({"width": 1280, "height": 1400})  # the status bar, read for idle, shows at 1280
    page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}", timeout=PAGE_LOAD_MS)
    notebook = Notebook(page, on_poll=lab.remember_descendants)
    page.locator(f"{_CELLS} .jp-OutputArea-output").first.wait_for(timeout=PAGE_LOAD_MS)
    notebook.wait_idle(PAGE_LOAD_MS)
    prompts = page.locator(f"{_CELLS} .jp-InputArea-prompt").all_inner_texts()
    assert prompts and all(prompt.strip("[]: ").isdigit() for prompt in prompts), f"{name}: not all ran: {prompts}"
    cells = lab.api("GET", f"/api/contents/{name}")["content"]["cells"]
    untrusted = [i for i, cell in enumerate(cells) if cell["cell_type"] == "code" and not cell["metadata"]["trusted"]]
    assert not untrusted, f"{name}: code cells {untrusted} untrusted: their HTML would show without its styles"
    sidebar = page.locator(".jp-SideBar .lm-TabBar-tab.lm-mod-current")
    if sidebar.count():
        sidebar.first.click()


def _check_outputs(page: Any) -> list[str]:
    editors = page.locator(".jp-InputArea-editor", has_text=CHECK)
    cells = page.locator(_CELLS).filter(has=editors)
    return [cells.nth(i).locator(".jp-Cell-outputArea").inner_text() for i in range(cells.count())]


def _full_page_screenshot(page: Any, width: int, path: Path) -> None:
    """The whole notebook in one picture: the viewport grown to the notebook's full height at this width."""
    page.set_viewport_size({"width": width, "height": 1400})
    page.wait_for_timeout(300)
    heights = page.evaluate(_HEIGHTS_JS)
    page.set_viewport_size({"width": width, "height": heights["page"] - heights["shown"] + heights["cells"]})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)


def _shut_kernels(lab: Any) -> None:
    """The notebook's kernel (started on opening, never used) ends before the next opens."""
    lab.remember_descendants()
    for kernel in lab.api("GET", "/api/kernels"):
        lab.api("DELETE", f"/api/kernels/{kernel['id']}")
