"""alloy_nb's HTML views in real JupyterLab at 800 px, light and dark: a tool-calling trace with its
timeline, a batch table with a failed row and its timeline, a replay with its diff, the call log, a
comparison, the picker, the models table, a reply's tokens with their table of alternatives (opened by
a click and from the keyboard) and the rendered prompt. Each reads (text contrast against what it sits
on, translucent tints composited, at least 3:1; a timeline bar's tooltip too; each alternative drawn
inside its table at 11 px or more) and fits (nothing wider than its output area, no table that needs
to scroll).
Screenshots of each view go to test-artifacts/browser/views-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_jupyterlab import _CELLS, WIDGET_MS, run_new_notebook
from test_layout import each_theme

FLOOR = 3.0  # WCAG 2.1's floor for large text and UI parts; muted labels here are 11-12 px, so no lower
SETUP = (
    "%load_ext alloy_nb\n"
    "import alloy_nb\n"
    "from alloy_nb import ask, tool\n"
    "from alloy_nb.testing import ScriptedEngine, ScriptedToolCall, ScriptedTurn, ServerThread\n"
    "engine = ScriptedEngine()\n"
    "server = ServerThread(engine).start()\n"
    "alloy_nb.configure(host=server.url, log_db='calls.db')\n"
    "@tool\n"
    "def add(a: int, b: int) -> int:\n"
    '    """Add two integers."""\n'
    "    return a + b\n"
    "engine.script(ScriptedTurn(thinking='Two numbers: add them.', tool_calls=[ScriptedToolCall('add', {'a': 2, 'b': 3})],\n"
    "                           delay=0.2),\n"
    "              ScriptedTurn(chunks=['2 + 3 ', '= 5.'], delay=0.1, chunk_delay=0.05))"
)
TOKENS = ["Tides ", "follow ", "the ", "moon", ".", " The ", "sun ", "helps."]
VIEWS = {  # name → the cell that shows it
    "trace": "value, trace = ask.traced('Add 2 and 3.', tools=[add])\ntrace",
    "batch": (
        "engine.script(ScriptedTurn(text='fine'), ScriptedTurn(status=400, error='bad request: ' + 'no such field ' * 12),\n"
        "              ScriptedTurn(text='A reply long enough to need wrapping in a narrow table cell. ' * 2))\n"
        "batch = ask.map(['one', 'two', 'a long item that goes on ' * 6], concurrency=1, progress=False)\n"
        "batch"
    ),
    "replay": (
        "engine.script(ScriptedTurn(text='fine, and then\\nsomething else'))\n"
        "alloy_nb.logs.replay(batch.items[0].trace, temperature=0.5)"
    ),
    "log": "%alloy log -n 6",
    "compare": '%alloy compare --max-tokens 20 "Name a colour and explain, at length, why that colour is the one."',
    "picker": "%alloy picker",
    "models": "%alloy models",
    "tokens": f"engine.script(ScriptedTurn(chunks={TOKENS!r}))\nask.traced('Why tides?', top_logprobs=5)[1].tokens()",
    "prompt": "alloy_nb.rendered_prompt('Add 2 and 3.', tools=[add], system='Be brief.')",
}

# Colour helpers for the checks below: a computed colour parsed (rgb()/rgba(), or color(srgb …) for
# color-mix()), one colour composited over another, relative luminance, and the backdrop of an element
# (the backgrounds of every ancestor composited, translucent tints included).
_COLOURS_JS = """
  const parse = (text) => {
    const m = (text.match(/[\\d.]+/g) || []).map(Number);
    if (m.length < 3) return [0, 0, 0, 0];
    const scale = text.startsWith('color(') ? 255 : 1;
    return [m[0] * scale, m[1] * scale, m[2] * scale, m.length > 3 ? m[3] : 1];
  };
  const over = (top, below) => top.slice(0, 3).map((c, i) => c * top[3] + below[i] * (1 - top[3]));
  const lum = ([r, g, b]) => { const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const backdrop = (el) => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) layers.push(parse(getComputedStyle(node).backgroundColor));
    return layers.reverse().reduce((below, layer) => over(layer, below), [255, 255, 255]);
  };
"""

# Every text in the output areas whose contrast against what it sits on is under `floor`, the text's
# colour blended by each ancestor's opacity.
_CONTRAST_JS = (
    """({selector, floor}) => {"""
    + _COLOURS_JS
    + """
  const found = [];
  let lowest = Infinity;
  for (const area of document.querySelectorAll(selector + ' .jp-OutputArea-output')) {
    for (const el of area.querySelectorAll('*')) {
      const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
      if (!own || !el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') continue;
      let alpha = 1;
      for (let node = el; node && node !== area; node = node.parentElement) alpha *= Number(getComputedStyle(node).opacity);
      const fg = parse(getComputedStyle(el).color), bg = backdrop(el);
      const text = over([...fg.slice(0, 3), fg[3] * alpha], bg);
      const [hi, lo] = [lum(text), lum(bg)].sort((x, y) => y - x);
      const ratio = (hi + 0.05) / (lo + 0.05);
      lowest = Math.min(lowest, ratio);
      if (ratio < floor) found.push(`${el.tagName}.${el.className} '${el.textContent.trim().slice(0, 30)}' ${ratio.toFixed(2)}`);
    }
  }
  return {found: found.slice(0, 20), lowest};
}"""
)

# The open table of a token view's alternatives: its rows, the alternatives shown (each drawn, inside the
# table's box, at least 11 px) and any of them whose contrast against what it sits on is under `floor`.
_ALTERNATIVES_JS = (
    """(details, floor) => {"""
    + _COLOURS_JS
    + """
  const box = details.querySelector('.av-scroll').getBoundingClientRect();
  const rows = details.querySelectorAll('tbody tr');
  const unreadable = [];
  let codes = 0;
  for (const row of rows) {
    for (const code of row.lastElementChild.querySelectorAll('code')) {
      codes += 1;
      const rect = code.getBoundingClientRect(), style = getComputedStyle(code);
      const fg = parse(style.color), bg = backdrop(code);
      const [hi, lo] = [lum(over(fg, bg)), lum(bg)].sort((x, y) => y - x);
      const ratio = (hi + 0.05) / (lo + 0.05);
      const problem = !rect.width || !rect.height || style.visibility === 'hidden' ? 'not drawn'
        : rect.left < box.left - 1 || rect.right > box.right + 1 ? 'outside the table'
        : parseFloat(style.fontSize) < 11 ? `${style.fontSize} text`
        : ratio < floor ? `contrast ${ratio.toFixed(2)}` : '';
      if (problem) unreadable.push(`${code.textContent}: ${problem}`);
    }
  }
  return {rows: rows.length, codes, unreadable: unreadable.slice(0, 20)};
}"""
)

# Everything in an output area that reaches past its right edge, an output that scrolls sideways,
# and a table box of alloy_nb's that needs its scroll bar (at 800 px the cells must wrap instead).
_FIT_JS = """(selector) => {
  const found = [];
  for (const area of document.querySelectorAll(selector + ' .jp-OutputArea-output')) {
    const right = area.getBoundingClientRect().right + 1;
    if (area.scrollWidth > area.clientWidth + 1) found.push(`an output scrolls: ${area.scrollWidth} > ${area.clientWidth}`);
    for (const el of area.querySelectorAll('*')) {
      const box = el.getBoundingClientRect();
      if (box.width && box.right > right && !el.closest('.av-scroll')) {
        found.push(`${el.tagName}.${el.className} ends at ${Math.round(box.right)} > ${Math.round(right)}`);
      }
    }
    for (const box of area.querySelectorAll('.av-scroll, .alloy-view pre')) {
      if (box.scrollWidth > box.clientWidth + 1) found.push(`${box.className || box.tagName} scrolls: ${box.scrollWidth} > ${box.clientWidth}`);
    }
  }
  return found.slice(0, 20);
}"""


def _open_the_alternatives(page: Any, outputs: Any) -> Any:
    """Open the token view's table of alternatives with a click, close and open it again from the
    keyboard, and check each token's hover names its alternatives; the open table."""
    table = outputs.locator("details .av-table")
    assert not table.is_visible()  # closed until asked for
    summary = outputs.locator("details summary", has_text="probabilities and alternatives")
    summary.click()
    table.wait_for(state="visible")
    for state in ("hidden", "visible"):  # readable without a mouse
        summary.focus()
        page.keyboard.press("Enter")
        table.wait_for(state=state)
    first = outputs.locator(".av-tokens .av-tok").first
    first.hover()
    hover = first.get_attribute("title") or ""
    assert hover.startswith('"Tides " ') and hover.count("%") == 6 and " · " in hover, hover
    return outputs.locator("details")


def test_views_read_and_fit_at_800_px_in_light_and_dark(lab: Any, page: Any, artifacts_dir: Path) -> None:
    notebook = run_new_notebook(lab, page, "views.ipynb", [SETUP, *VIEWS.values()])
    assert "Error" not in notebook.errors(), notebook.errors()
    cells = {name: page.locator(_CELLS).nth(number) for number, name in enumerate(VIEWS, start=1)}
    page.locator(f"{_CELLS} select").nth(2).wait_for(timeout=WIDGET_MS)  # the picker's widgets are drawn
    for name, locator in (
        ("trace", ".alloy-trace .at-tl-bar"),
        ("batch", "tr.av-failed"),
        ("replay", ".av-added"),
        ("log", ".alloy-log td"),
        ("compare", ".alloy-compare-col .alloy-trace"),
        ("models", ".alloy-models td"),
        ("tokens", ".av-tokens .av-tok"),
        ("prompt", "pre.av-prompt"),
    ):
        assert notebook.outputs(cells[name]).locator(locator).count() > 0, f"the {name} view shows {locator}"
    notebook.outputs(cells["batch"]).locator("summary", has_text="timeline").click()  # open: checked too
    alternatives = _open_the_alternatives(page, notebook.outputs(cells["tokens"]))  # open: checked too
    page.locator(".jp-SideBar .lm-TabBar-tab.lm-mod-current").first.click()  # fold the file browser
    page.set_viewport_size({"width": 800, "height": 1400})

    problems: dict[str, list[str]] = {}
    lowest: dict[str, float] = {}
    for theme, shade in each_theme(page):
        page.wait_for_timeout(500)
        for name, cell in cells.items():
            cell.scroll_into_view_if_needed()
            notebook.outputs(cell).screenshot(path=str(artifacts_dir / f"views-{name}-800px-{shade}.png"))
        timeline = notebook.outputs(cells["trace"]).locator(".at-tl").first
        timeline.scroll_into_view_if_needed()
        timeline.locator(".at-tl-bar").first.hover()  # its tooltip shows: read and fit with the rest
        timeline.screenshot(path=str(artifacts_dir / f"views-timeline-tip-800px-{shade}.png"))
        alternatives.scroll_into_view_if_needed()
        alternatives.screenshot(path=str(artifacts_dir / f"views-tokens-alternatives-800px-{shade}.png"))
        shown = alternatives.evaluate(_ALTERNATIVES_JS, FLOOR)
        assert shown["rows"] == len(TOKENS) and shown["codes"] == len(TOKENS) * 5, shown
        if shown["unreadable"]:
            problems[f"{theme}: alternatives"] = shown["unreadable"]
        contrast = page.evaluate(_CONTRAST_JS, {"selector": _CELLS, "floor": FLOOR})
        lowest[shade] = round(contrast["lowest"], 2)
        if found := contrast["found"] + page.evaluate(_FIT_JS, _CELLS):
            problems[theme] = found
    print(f"\nlowest text contrast: {lowest}")
    assert problems == {}, problems

    page.evaluate(
        """(selector) => { const probe = document.createElement('div');  // the checks see a failure
      probe.innerHTML = '<span style="color:#555">faint</span><pre style="white-space:pre">' + 'x'.repeat(400) + '</pre>';
      probe.className = 'alloy-view';
      document.querySelector(selector + ' .jp-OutputArea-output').appendChild(probe); }""",
        _CELLS,
    )
    assert any(
        "'faint'" in found for found in page.evaluate(_CONTRAST_JS, {"selector": _CELLS, "floor": FLOOR})["found"]
    )
    assert any(found.startswith("PRE scrolls") for found in page.evaluate(_FIT_JS, _CELLS))
    alternatives.evaluate(  # the alternatives' check sees a faint one, a tiny one and a hidden one
        """(details) => { const codes = details.querySelectorAll('tbody td:last-child code');
      codes[0].style.color = 'rgba(0, 0, 0, 0.05)'; codes[1].style.fontSize = '8px'; codes[2].style.display = 'none'; }"""
    )
    caught = alternatives.evaluate(_ALTERNATIVES_JS, FLOOR)["unreadable"]
    assert [found.split(": ")[1].split(" ")[0] for found in caught] == ["contrast", "8px", "not"], caught
