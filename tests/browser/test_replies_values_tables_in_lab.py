"""Issue 32 item 6 in real JupyterLab at 800 px, light and dark: a reply's code blocks highlighted (a
named language coloured, an unknown one and a bare fence plain), a typed cell's value as JSON with the
Python value a click away, and the batch and log tables (left-aligned, a failed item's cause first, a
cut reply marked, the user's prompt in the log), `%alloy help` wrapped only at spaces, and the note under
a `--chat` reply on the history sent with it. Each reads (contrast at least 3:1) and fits (nothing
wider than its output area, no table that needs its scroll bar). Screenshots go to
test-artifacts/browser/item6-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_jupyterlab import _CELLS, run_new_notebook
from test_layout import _pick_theme, each_theme
from test_views_themes import _CONTRAST_JS, _FIT_JS, FLOOR

SETUP = (
    "%load_ext alloy_nb\n"
    "import alloy_nb\n"
    "from pydantic import BaseModel\n"
    "from alloy_nb import ask\n"
    "from alloy_nb.testing import ScriptedEngine, ScriptedTurn, ServerThread\n"
    "engine = ScriptedEngine()\n"
    "server = ServerThread(engine).start()\n"
    "alloy_nb.configure(host=server.url, log_db='item6.db')\n"
    "class City(BaseModel):\n"
    "    name: str\n"
    "    country: str\n"
    "    landmarks: list[str]\n"
    "FENCE = chr(96) * 3\n"
    "REPLY = ('Here is the function, with its test:\\n\\n' + FENCE + 'python\\n@cache\\ndef area(r: float) -> float:\\n'\n"
    '         \'    """A circle of radius r."""\\n    return 3.14159 * r ** 2  # <b>not bold</b>\\n\\n\'\n'
    "         'assert area(1) > 3 and True is not None\\n' + FENCE + '\\n\\nThe data:\\n\\n' + FENCE + 'json\\n'\n"
    '         \'{"name": "Paris", "rank": 1, "ok": true, "note": null}\\n\' + FENCE + \'\\n\\n\'\n'
    "         'A diff:\\n\\n' + FENCE + 'diff\\n- old line\\n+ new line\\n' + FENCE + '\\n\\n'\n"
    "         'An unknown language and a bare fence stay plain:\\n\\n' + FENCE + 'klingon\\nqapla <i>x</i>\\n' + FENCE +\n"
    "         '\\n\\n' + FENCE + '\\nplain <script>text</script>\\n' + FENCE + '\\n')"
)
TYPED = (
    'engine.script(ScriptedTurn(text=\'{"name": "Paris <b>", "country": "France", '
    '"landmarks": ["Eiffel Tower", "Louvre", "a very long landmark name that has to wrap at eight hundred '
    "pixels without scrolling the output sideways\"]}'))"
)
BATCH = (
    "engine.script(ScriptedTurn(text='fine'),\n"
    "              ScriptedTurn(status=400, error='bad request: ' + 'no such field ' * 12),\n"
    "              ScriptedTurn(text='A reply the token limit cut short in the middle of a ' * 2, done_reason='length'))\n"
    "batch = ask.map(['one', 'two', 'a long item that goes on ' * 6], concurrency=1, progress=False, retry=1)\n"
    "batch"
)
CELLS = [  # the code and typed replies come from %%alloy cells of their own, after their turn is queued
    SETUP,
    "engine.script(ScriptedTurn(text=REPLY))",
    "%%alloy\nWrite area() with a test, then the data.",
    TYPED,
    "%%alloy -o City\nWhich is the capital of France, and what is there to see?",
    BATCH,
    "alloy_nb.logs.flush()\n%alloy log -n 8",
    "%alloy help",
    "engine.script(ScriptedTurn(text='Nice to meet you, Ada!'), ScriptedTurn(text='Your name is Elara.'))",
    "%%alloy --chat\nMy name is Ada.",
    "%%alloy --chat\nWhat is my name?",
]
SHOWN = {"code": 2, "typed": 4, "batch": 5, "log": 6, "help": 7, "chat": 10}  # view → its cell's position

# Where each rendered line of `%alloy help` wraps: every break inside one of its lines must fall at a
# space (the text before or after it), never between two letters, as `word-break: break-all` would.
_HELP_WRAPS_JS = """(selector) => {
  const found = [];
  let wraps = 0;
  const blocks = document.querySelectorAll(selector + ' .av-help');
  if (!blocks.length) return {found: ['no %alloy help output'], wraps};
  const range = document.createRange();
  for (const block of blocks) {
    if (block.scrollWidth > block.clientWidth + 1) found.push(`help scrolls: ${block.scrollWidth} > ${block.clientWidth}`);
    for (const line of block.children) {
      if (getComputedStyle(line).wordBreak === 'break-all') found.push('a help line has word-break: break-all');
      const chars = [];
      const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode())
        for (let i = 0; i < node.length; i++) chars.push([node, i]);
      let top = null, previous = '';
      for (const [node, i] of chars) {
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const rects = range.getClientRects();
        const char = node.data[i];
        if (rects.length) {
          if (top !== null && rects[0].top > top + 2) {
            wraps += 1;
            if (previous !== ' ' && char !== ' ') {
              const text = line.textContent, at = chars.findIndex(([n, j]) => n === node && j === i);
              found.push(`broken inside a word: ${text.slice(Math.max(0, at - 24), at)}|${text.slice(at, at + 24)}`);
            }
          }
          top = rects[0].top;
        }
        previous = char;
      }
    }
  }
  return {found: found.slice(0, 20), wraps};
}"""


def test_replies_values_and_tables_read_and_fit_at_800_px(lab: Any, page: Any, artifacts_dir: Path) -> None:
    notebook = run_new_notebook(lab, page, "item6.ipynb", CELLS)
    assert "Error" not in notebook.errors(), notebook.errors()
    cells = {name: page.locator(_CELLS).nth(number) for name, number in SHOWN.items()}
    out = {name: notebook.outputs(cell) for name, cell in cells.items()}

    code = out["code"]
    assert code.locator("code.language-python .hl-k", has_text="def").count() == 1
    assert code.locator("code.language-python .hl-nd", has_text="@cache").count() == 1
    assert code.locator("code.language-json .hl-nt").count() == 4
    assert code.locator("code.language-klingon span").count() == 0 and "qapla <i>x</i>" in code.inner_text()
    assert "plain <script>text</script>" in code.inner_text() and code.locator("script, i").count() == 0
    keyword = code.locator(".hl-k", has_text="def").evaluate("(el) => getComputedStyle(el).color")
    plain = code.locator(".hl-n", has_text="r").first.evaluate("(el) => getComputedStyle(el).color")
    assert keyword != plain, "a keyword is coloured apart from a plain name"

    typed = out["typed"]
    assert typed.locator(".av-value pre.av-json .hl-nt", has_text='"landmarks"').count() == 1
    assert "Paris <b>" in typed.locator(".av-json").inner_text() and typed.locator(".av-json b").count() == 0
    python = typed.locator(".av-value details")
    assert not python.evaluate("(el) => el.open"), "the Python value is folded"
    python.locator("summary", has_text="Python value").click()
    assert "City(name='Paris <b>'" in python.inner_text() or "name='Paris <b>'" in python.inner_text()

    batch = out["batch"]
    cause = batch.locator("tr.av-cause")
    assert cause.count() == 1 and cause.inner_text().startswith("✗ ")
    assert "bad request" in cause.inner_text()
    assert batch.locator(".av-cut", has_text="cut at max_tokens").count() == 1
    batch.locator("summary", has_text="timeline").click()

    log = out["log"]
    assert log.locator("td", has_text="Which is the capital of France, and what is there to see?").count() == 1
    assert "Reply with only a JSON value" not in log.inner_text(), "the user's prompt, not the schema instruction"
    assert log.locator("tr.av-cause").count() == 1 and log.locator(".av-cut").count() == 1
    shown_help = out["help"].inner_text()
    assert "%alloy chat     A chat panel" in shown_help and "::" not in shown_help and "`" not in shown_help
    chat = out["chat"]
    assert "--chat sent 1 earlier exchange (2 messages)" in chat.inner_text()
    chat.locator("summary", has_text="the 2 messages sent").click()
    assert "Nice to meet you, Ada!" in chat.locator("details").inner_text()

    aligned = page.evaluate(
        """(selector) => Array.from(document.querySelectorAll(selector + ' .av-table td, ' + selector + ' .av-table th'))
             .filter((el) => !el.closest('.av-tokens')).map((el) => getComputedStyle(el).textAlign)""",
        _CELLS,
    )
    assert aligned and set(aligned) <= {"left", "start"}, set(aligned)

    page.locator(".jp-SideBar .lm-TabBar-tab.lm-mod-current").first.click()  # fold the file browser
    page.set_viewport_size({"width": 800, "height": 1400})
    problems: dict[str, list[str]] = {}
    lowest: dict[str, float] = {}
    wraps: dict[str, int] = {}
    try:
        for theme, shade in each_theme(page):
            page.wait_for_timeout(500)
            for name, cell in cells.items():
                cell.scroll_into_view_if_needed()
                out[name].screenshot(path=str(artifacts_dir / f"item6-{name}-800px-{shade}.png"))
            contrast = page.evaluate(_CONTRAST_JS, {"selector": _CELLS, "floor": FLOOR})
            lowest[shade] = round(contrast["lowest"], 2)
            help_wraps = page.evaluate(_HELP_WRAPS_JS, _CELLS)
            wraps[shade] = help_wraps["wraps"]
            if found := contrast["found"] + page.evaluate(_FIT_JS, _CELLS) + help_wraps["found"]:
                problems[theme] = found
    finally:
        _pick_theme(page, "JupyterLab Light")
    print(f"\nlowest text contrast: {lowest}; %alloy help lines wrapped at spaces: {wraps}")
    assert problems == {}, problems
    assert min(wraps.values()) > 0, "at 800 px the longest help lines wrap (else the check checked nothing)"

    out["help"].evaluate(  # the check sees a break inside a word: a line as printed text would break
        """(area) => { const probe = document.createElement('div');
      probe.style.cssText = 'word-break:break-all;white-space:pre-wrap;width:120px';
      probe.textContent = '  %alloy chat     A chat panel: streamed replies';
      area.querySelector('.av-help').appendChild(probe); }"""
    )
    found = page.evaluate(_HELP_WRAPS_JS, _CELLS)["found"]
    assert any(problem.startswith("broken inside a word") for problem in found), found
