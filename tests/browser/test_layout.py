"""The picker, models table, compare view and trace in real JupyterLab at 800 and 1280 px, light and
dark: nothing runs off the edge of its output area. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from test_jupyterlab import _CELLS, WIDGET_MS, run_new_notebook

CELLS = [
    "%load_ext alloy_nb\n%alloy serve --engine scripted",
    "%alloy picker",
    "%alloy models",
    '%alloy compare --max-tokens 20 "Name a colour and explain, at length, why that colour is the one you chose."',
    "%%alloy --trace --no-stream\nSay something long enough to wrap: " + "words and more words " * 12,
]
# Every element in an output area whose right edge passes the area's (1 px slack), and every
# dropdown narrower than its selected label needs.
_OVERFLOW_JS = """(selector) => {
  const found = [];
  const measure = document.createElement('canvas').getContext('2d');
  for (const area of document.querySelectorAll(selector + ' .jp-OutputArea-output')) {
    const right = area.getBoundingClientRect().right + 1;
    for (const el of area.querySelectorAll('select, input, button, table, .alloy-compare-col, .alloy-trace')) {
      if (el.closest('.alloy-models')) continue;  // the table scrolls inside its own box
      const box = el.getBoundingClientRect();
      if (box.width && box.right > right) found.push(`${el.tagName}.${el.className} ends at ${box.right} > ${right}`);
    }
    for (const select of area.querySelectorAll('select')) {
      const style = getComputedStyle(select);
      measure.font = `${style.fontSize} ${style.fontFamily}`;
      const label = select.options[select.selectedIndex]?.text || '';
      const needed = measure.measureText(label).width + 24;
      if (select.clientWidth < needed) found.push(`select cuts '${label}' (${select.clientWidth} < ${needed})`);
    }
    for (const pre of area.querySelectorAll('.alloy-trace pre')) {  // prose wraps between words
      if (getComputedStyle(pre).wordBreak === 'break-all') found.push('trace text breaks inside words');
    }
    for (const axis of area.querySelectorAll('.at-tl-axis')) {  // the timeline's tick labels never collide
      const ticks = Array.from(axis.querySelectorAll('.at-tl-tick')).map(t => t.getBoundingClientRect())
        .filter(box => box.width > 0);
      for (let i = 1; i < ticks.length; i++) {
        if (ticks[i].left < ticks[i - 1].right) found.push(`timeline tick labels overlap at ${ticks[i].left}`);
      }
    }
    const models = area.querySelector('.alloy-models');
    if (models && models.getBoundingClientRect().right > right) found.push('the models table box overflows');
  }
  return found;
}"""


# Text in the output areas that is hard to read: contrast against the background it sits on (colours
# blended by every ancestor's opacity) below 3:1, the floor for large or muted text (WCAG 2.1).
_CONTRAST_JS = """(selector) => {
  const rgba = (text) => { const m = text.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const lum = ([r, g, b]) => { const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const color = rgba(getComputedStyle(node).backgroundColor);
      if (color[3] > 0.5) return color;
    }
    return [255, 255, 255, 1];
  };
  const found = [];
  for (const area of document.querySelectorAll(selector + ' .jp-OutputArea-output')) {
    for (const el of area.querySelectorAll('*')) {
      const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
      if (!own || !el.getClientRects().length) continue;
      let alpha = 1;
      for (let node = el; node && node !== area; node = node.parentElement) alpha *= Number(getComputedStyle(node).opacity);
      const fg = rgba(getComputedStyle(el).color), bg = background(el), a = fg[3] * alpha;
      const blended = fg.slice(0, 3).map((c, i) => c * a + bg[i] * (1 - a));
      const [hi, lo] = [lum(blended), lum(bg)].sort((x, y) => y - x);
      const ratio = (hi + 0.05) / (lo + 0.05);
      if (ratio < 3) found.push(`${el.tagName}.${el.className} '${el.textContent.trim().slice(0, 30)}' contrast ${ratio.toFixed(2)}`);
    }
  }
  return found.slice(0, 20);
}"""


THEMES = ("JupyterLab Light", "JupyterLab Dark")


def each_theme(page: Any) -> Iterator[tuple[str, str]]:
    """Each theme in turn, switched to unless the page shows it already: (its name, "light" or "dark")."""
    for theme in THEMES:
        if page.evaluate("() => document.body.dataset.jpThemeName") != theme:
            _pick_theme(page, theme)
        yield theme, theme.split()[-1].lower()


def _pick_theme(page: Any, name: str) -> None:
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Settings$")).click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Theme")).hover()
    page.locator(".lm-Menu-item", has_text=re.compile(rf"^{name}$")).click()
    page.wait_for_function(f"() => document.body.dataset.jpThemeName === '{name}'", timeout=WIDGET_MS)


def test_views_fit_and_read_at_800_and_1280_px_in_light_and_dark(lab: Any, page: Any, artifacts_dir: Path) -> None:
    notebook = run_new_notebook(lab, page, "layout.ipynb", CELLS)  # at 1280 px: narrower hides the kernel status
    assert "Error" not in notebook.errors(), notebook.errors()
    page.locator(f"{_CELLS} select").nth(2).wait_for(timeout=WIDGET_MS)
    page.locator(".jp-SideBar .lm-TabBar-tab.lm-mod-current").first.click()  # fold the file browser: more width

    problems: dict[str, list[str]] = {}
    for theme, shade in each_theme(page):
        for width in (800, 1280):
            page.set_viewport_size({"width": width, "height": 1600})
            page.wait_for_timeout(500)
            page.screenshot(path=str(artifacts_dir / f"layout-{width}px-{shade}.png"), full_page=True)
            traced = page.locator(_CELLS).nth(len(CELLS) - 1)  # the --trace cell, below the first screen
            traced.scroll_into_view_if_needed()
            traced.screenshot(path=str(artifacts_dir / f"layout-trace-{width}px-{shade}.png"))
            found = page.evaluate(_OVERFLOW_JS, _CELLS) + page.evaluate(_CONTRAST_JS, _CELLS)
            if found:
                problems[f"{theme} at {width}px"] = found
    assert problems == {}, problems
    page.evaluate(
        """(selector) => { const probe = document.createElement('span');  // the check sees bad contrast
      probe.textContent = 'faint'; probe.style.cssText = 'color:#777;background:#888';
      document.querySelector(selector + ' .jp-OutputArea-output').appendChild(probe); }""",
        _CELLS,
    )
    assert any("'faint' contrast" in problem for problem in page.evaluate(_CONTRAST_JS, _CELLS))
