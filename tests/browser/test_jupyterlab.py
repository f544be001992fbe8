"""The native-vs-openai_chat notebook in real JupyterLab, driven in headless Chromium like a user would.

Run All, then check the page: the streamed `%%alloy` reply and its footer, the picker's two
dropdowns, the trace's tool-call turn (the tool result names its tool and call). Then pick openai_chat in the
picker, re-run the tool cell and the strategy cell, and check the switch took effect
(`strategy used: openai_chat`, the same neutral tool result in the trace). Screenshots go to
test-artifacts/browser/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import nbformat

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "04_three_wire_apis.ipynb"

PAGE_LOAD_MS = 120_000
RUN_ALL_MS = 900_000  # every call on the embedded model; slow CI machines share two cores
RERUN_MS = 600_000
WIDGET_MS = 60_000

_CELLS = ".jp-Notebook .jp-CodeCell"
_IDLE_JS = """() => {
  const indicator = document.querySelector('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator');
  const bar = document.querySelector('#jp-main-statusbar');
  return !!indicator && indicator.dataset.status === 'idle' && !!bar && /\\|\\s*Idle\\b/.test(bar.innerText);
}"""
# Runs in the page: the prompts once no cell is queued or running, the kernel is idle and every
# target cell shows an execution count above `above` (or was cancelled: `[ ]`); null until then.
_RUN_STATE_JS = """({selector, targets, above}) => {
  const prompts = Array.from(document.querySelectorAll(selector + ' .jp-InputArea-prompt')).map(p => p.textContent.trim());
  const indicator = document.querySelector('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator');
  const busy = prompts.some(p => p.includes('*')) || !indicator || indicator.dataset.status !== 'idle';
  const counts = targets.map(i => { const m = /\\[(\\d+)\\]/.exec(prompts[i] || ''); return m ? Number(m[1]) : 0; });
  const cancelled = targets.some(i => /^\\[\\s*\\]/.test(prompts[i] || ''));
  return busy || (counts.some(c => c <= above) && !cancelled) ? null : prompts;
}"""
# Records every distinct text the streamed cell's output area shows while it runs.
_WATCH_OUTPUT_JS = """(cell) => {
  window.__alloyStreamStates = [];
  const record = () => {
    const area = cell.querySelector('.jp-OutputArea');
    const text = area ? area.innerText.trim() : '';
    const states = window.__alloyStreamStates;
    if (text && states[states.length - 1] !== text) states.push(text);
  };
  new MutationObserver(record).observe(cell, {subtree: true, childList: true, characterData: true});
}"""


class Notebook:
    """The open notebook in JupyterLab: find cells by their source, run them, wait for the kernel."""

    def __init__(self, page: Any, on_poll: Any = None) -> None:
        self.page = page
        self.on_poll = on_poll or (lambda: None)

    def cell(self, source_text: str) -> Any:
        """The first code cell whose source contains `source_text`."""
        editor = self.page.locator(".jp-InputArea-editor", has_text=source_text)
        return self.page.locator(_CELLS).filter(has=editor).first

    def outputs(self, cell: Any) -> Any:
        """The cell's output area (every output it shows)."""
        return cell.locator(".jp-Cell-outputArea")

    def count(self, cell: Any) -> int | None:
        """The cell's execution count from its `[n]:` prompt, None when it has not run."""
        return _number(cell.locator(".jp-InputArea-prompt").inner_text())

    def wait_idle(self, timeout_ms: int) -> None:
        self.page.wait_for_function(_IDLE_JS, timeout=timeout_ms, polling=250)

    def index(self, cell: Any) -> int:
        return int(
            cell.evaluate("(el, selector) => Array.from(document.querySelectorAll(selector)).indexOf(el)", _CELLS)
        )

    def wait_until_done(self, timeout_ms: int, ran: tuple[Any, ...] = (), above: int = 0) -> list[str]:
        """Wait until nothing is queued or running, the kernel is idle and each cell in `ran` shows a count
        above `above`; the prompts, in order."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout  # checked by require_browser_tools()

        targets = [self.index(cell) for cell in ran]
        arg = {"selector": _CELLS, "targets": targets, "above": above}
        deadline = time.monotonic() + timeout_ms / 1000
        while True:  # in slices, so `on_poll` sees every process the run starts (and stops again)
            self.on_poll()
            try:
                prompts = self.page.wait_for_function(_RUN_STATE_JS, arg=arg, timeout=2000, polling=250).json_value()
                break
            except PlaywrightTimeout:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"cells still running after {timeout_ms / 1000:g}s; errors so far:\n{self.errors()}"
                    ) from None
        not_run = [prompts[i] for i in targets if (_number(prompts[i]) or 0) <= above]
        assert not not_run, f"cells {targets} did not run again (prompts {not_run}). Error output:\n{self.errors()}"
        return prompts

    def run_all(self) -> None:
        """Run → Run All Cells, through the menu bar."""
        self.page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
        self.page.locator(".lm-Menu-item", has_text=re.compile(r"^Run All Cells")).click()
        self.page.wait_for_function(
            "(selector) => Array.from(document.querySelectorAll(selector + ' .jp-InputArea-prompt'))"
            ".some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))",
            arg=_CELLS,
            timeout=WIDGET_MS,
        )

    def shift_enter_from(self, cell: Any, times: int) -> None:
        """Select `cell` (click its prompt, command mode) and press Shift+Enter `times` times."""
        cell.locator(".jp-InputArea-prompt").click()
        for _ in range(times):
            self.page.keyboard.press("Shift+Enter")

    def errors(self) -> str:
        texts = self.page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        ).all_inner_texts()
        return "\n---\n".join(texts)[-3000:]


def test_three_wire_apis_notebook_in_jupyterlab(lab: Any, page: Any, artifacts_dir: Path) -> None:
    assert NOTEBOOK.exists(), f"{NOTEBOOK.relative_to(REPO)} is missing: the browser test runs that notebook."
    copy_without_outputs(NOTEBOOK, lab.root / NOTEBOOK.name)
    shots: list[Path] = []

    def screenshot(name: str, target: Any = None) -> None:
        path = artifacts_dir / name
        (target or page).screenshot(path=str(path), **({} if target else {"full_page": True}))
        shots.append(path)

    started = time.monotonic()
    timings: dict[str, float] = {}
    page.set_default_timeout(WIDGET_MS)
    page.goto(f"{lab.url}/lab/tree/{NOTEBOOK.name}?token={lab.token}", timeout=PAGE_LOAD_MS)
    notebook = Notebook(page, on_poll=lab.remember_descendants)
    page.locator(_CELLS).first.wait_for(timeout=PAGE_LOAD_MS)
    notebook.wait_idle(PAGE_LOAD_MS)
    timings["page + kernel ready"] = time.monotonic() - started

    setup = notebook.cell("start_local_server")
    streamed = notebook.cell("%%alloy --max-tokens")
    picker = notebook.cell("%alloy picker")
    tools = notebook.cell("%%alloy -t add")
    strategy = notebook.cell('print("strategy used:"')
    compare = notebook.cell("%alloy compare")
    streamed.evaluate(_WATCH_OUTPUT_JS)

    # --- Run All -----------------------------------------------------------------------------
    mark = time.monotonic()
    notebook.run_all()
    prompts = notebook.wait_until_done(RUN_ALL_MS)
    timings["run all"] = time.monotonic() - mark
    assert all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), (
        f"Run All stopped early; prompts {prompts}. Error output:\n{notebook.errors()}"
    )
    _scroll_to_top(setup)
    screenshot("01-run-all-full-page.png")

    # (a) the streamed reply: Markdown rendered as inert HTML, then a footer with the token count
    reply = notebook.outputs(streamed).locator(".jp-RenderedHTMLCommon")
    reply_text = reply.inner_text().strip()
    footer = reply.locator("sub").inner_text()
    body = reply_text.replace(footer, "").strip()
    assert body, f"the %%alloy cell shows no reply text: {reply_text!r}"
    assert re.search(r"\d+ tokens", footer), f"no token count in the footer: {footer!r}"
    assert "native" in footer, footer
    states = page.evaluate("window.__alloyStreamStates")
    partial = [state for state in states if footer not in state and state.strip("… \n")]
    assert partial, f"the reply was not shown while streaming; the output went through {states}"
    screenshot("02-streamed-output.png", notebook.outputs(streamed))

    # (b) the picker: three dropdowns (model, strategy, thinking) rendered by ipywidgets
    selects = notebook.outputs(picker).locator("select")
    selects.nth(2).wait_for(timeout=WIDGET_MS)
    assert selects.count() == 3, (
        f"expected the model, strategy and thinking dropdowns, found {selects.count()} <select>"
    )
    strategy_select = notebook.outputs(picker).locator("select", has=page.locator("option", has_text="openai_chat"))
    labels = strategy_select.locator("option").all_inner_texts()
    assert [label.split()[0] for label in labels] == ["auto", "native", "openai_chat", "openai_responses"], labels

    # (c) the trace under the tool cell, native: the tool call and a tool result naming its tool and call
    assert _strategy_printed(notebook, strategy) == "native"
    trace = notebook.outputs(tools).locator(".alloy-trace")
    _assert_tool_turn(trace, endpoint="/api/chat")
    screenshot("03-trace-native.png", trace)
    assert notebook.outputs(compare).locator(".alloy-compare").count() == 1, "no side-by-side comparison"

    # --- switch to openai_chat in the picker and re-run the tool cell and the strategy cell ---
    openai_label = next(label for label in labels if label.startswith("openai_chat"))
    strategy_select.select_option(label=openai_label)
    status = notebook.outputs(picker).locator(".widget-html", has_text="next call:")
    page.wait_for_function(
        "(el) => /next call:\\s*openai_chat/.test(el.innerText)", arg=status.element_handle(), timeout=WIDGET_MS
    )
    screenshot("04-picker-openai_chat.png", notebook.outputs(picker))

    mark = time.monotonic()
    before = max(filter(None, (notebook.count(c) for c in (setup, tools, strategy))))
    notebook.shift_enter_from(setup, 1)  # from the setup cell down, as a student re-runs after a switch
    notebook.wait_until_done(RERUN_MS, ran=(setup,), above=before)
    notebook.shift_enter_from(tools, 2)
    notebook.wait_until_done(RERUN_MS, ran=(tools, strategy), above=notebook.count(setup) or 0)
    timings["re-run after switch"] = time.monotonic() - mark
    assert _strategy_printed(notebook, strategy) == "openai_chat"
    _assert_tool_turn(trace, endpoint="/v1/chat/completions")
    assert strategy_select.input_value().split() == openai_label.split()  # ipywidgets shows spaces as U+00A0
    screenshot("05-trace-openai_chat.png", trace)

    # --- and to openai_responses: the same call as Responses items ----------------------------
    responses_label = next(label for label in labels if label.startswith("openai_responses"))
    strategy_select.select_option(label=responses_label)
    page.wait_for_function(
        "(el) => /next call:\\s*openai_responses/.test(el.innerText)", arg=status.element_handle(), timeout=WIDGET_MS
    )
    notebook.shift_enter_from(tools, 2)
    notebook.wait_until_done(RERUN_MS, ran=(tools, strategy), above=notebook.count(strategy) or 0)
    assert _strategy_printed(notebook, strategy) == "openai_responses"
    _assert_tool_turn(trace, endpoint="/v1/responses")
    screenshot("06-trace-openai_responses.png", trace)
    _scroll_to_top(picker)
    screenshot("07-after-switch-full-page.png")

    timings["total"] = time.monotonic() - started
    print(f"\nstreamed cell: {len(partial)} partial render(s) before the final reply {body[:60]!r}")
    print(f"footer: {footer}")
    print("timings: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in timings.items()))
    print("screenshots:\n  " + "\n  ".join(str(path) for path in shots))


def run_new_notebook(lab: Any, page: Any, name: str, cells: list[str], timeout_ms: int = 300_000) -> Notebook:
    """Write a notebook of `cells` into the lab's root, open it in JupyterLab and Run All until done."""
    document = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    document.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(document, lab.root / name)
    page.set_default_timeout(WIDGET_MS)
    page.goto(f"{lab.url}/lab/tree/{name}?token={lab.token}", timeout=PAGE_LOAD_MS)
    notebook = Notebook(page, on_poll=lab.remember_descendants)
    page.locator(_CELLS).first.wait_for(timeout=PAGE_LOAD_MS)
    notebook.wait_idle(PAGE_LOAD_MS)
    notebook.run_all()
    notebook.wait_until_done(timeout_ms)
    return notebook


def _number(prompt: str) -> int | None:
    match = re.search(r"\[(\d+)\]", prompt)
    return int(match.group(1)) if match else None


def copy_without_outputs(source: Path, target: Path) -> None:
    """Copy a notebook with outputs, execution counts and saved widget state cleared: a fresh run."""
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, target)


def _scroll_to_top(cell: Any) -> None:
    cell.evaluate("el => el.scrollIntoView({block: 'start'})")


def _strategy_printed(notebook: Notebook, cell: Any) -> str:
    text = notebook.outputs(cell).inner_text()
    match = re.search(r"strategy used:\s*(\S+)", text)
    assert match, f"no 'strategy used:' line in {text!r}"
    return match.group(1)


def _assert_tool_turn(trace: Any, *, endpoint: str) -> None:
    """The trace shows a request to `endpoint`, a call to `add` and a tool result naming its tool, and its
    call id where the wire API has ids."""
    assert trace.count() == 1, f"expected one .alloy-trace under the tool cell, found {trace.count()}"
    html = trace.inner_html()
    assert endpoint in html, f"no request to {endpoint} in the trace"
    assert re.search(r"<b>add</b>", html), "the trace shows no call to the add tool"
    tool_message = trace.locator(".at-role-tool").first
    assert tool_message.count() == 1, "the trace shows no tool-result message"
    fields = tool_message.locator(".at-field").all_inner_texts()
    expected = {"tool"} if endpoint == "/api/chat" else {"tool", "call"}  # native results name their tool only
    assert set(fields) == expected, f"the tool-result message carries {fields}, expected {expected}"
