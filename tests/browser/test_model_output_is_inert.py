"""A prompt-injected reply in real JupyterLab: nothing it contains runs, loads or becomes a live link.

The scripted demo model echoes the prompt ("You said: …"), so each cell's prompt is the attacker's
reply. Every `%%alloy` format is run, streamed and not; then the page is searched for what would
have run or loaded, and a canary global that any of the payloads would set.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from test_jupyterlab import _CELLS, run_new_notebook

PAYLOAD = (
    "<script>window.__alloyPwned = 'script'</script> "
    "<img src=x onerror=\"window.__alloyPwned = 'img'\"> "
    "<svg onload=\"window.__alloyPwned = 'svg'\"></svg> "
    "[click](javascript:window.__alloyPwned='link') "
    "![exfil](http://127.0.0.1:9/leak.png?secret=1) "
    '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="> '
    "<a href=\"javascript:window.__alloyPwned='a'\">a</a> "
    "**still bold**"
)
BREAKOUT = "````\n<img src=x onerror=\"window.__alloyPwned = 'fence'\">\n````"
CELLS = [
    "%load_ext alloy_nb\n%alloy serve --engine scripted",
    f"%%alloy\n{PAYLOAD}",
    f"%%alloy --no-stream\n{PAYLOAD}",
    f"%%alloy -f code\n{BREAKOUT}",
    f"%%alloy -f code --no-stream\n{BREAKOUT}",
    f"%%alloy -f html --no-stream\n{PAYLOAD}",
    f"%%alloy -f text\n{PAYLOAD}",
    "%alloy stop",
]
_LIVE_JS = """(selector) => {
  const outputs = Array.from(document.querySelectorAll(selector + ' .jp-OutputArea-output'));
  const found = [];
  for (const area of outputs) {
    for (const el of area.querySelectorAll('script, img, svg, object, embed')) found.push(el.outerHTML.slice(0, 120));
    for (const el of area.querySelectorAll('*')) {
      for (const attr of el.attributes) if (/^on/i.test(attr.name)) found.push(el.outerHTML.slice(0, 120));
    }
    // (JupyterLab itself turns URLs in plain-text outputs into links, whatever prints them.)
    if (area.dataset.mimeType === 'text/plain') continue;
    for (const a of area.querySelectorAll('a[href]')) {
      if (!/^(https?:|mailto:)/i.test(a.getAttribute('href'))) found.push(a.outerHTML.slice(0, 120));
    }
  }
  return {found, pwned: window.__alloyPwned || null};
}"""


def test_a_hostile_reply_stays_text_in_every_format(lab: Any, page: Any, artifacts_dir: Path) -> None:
    notebook = run_new_notebook(lab, page, "hostile.ipynb", CELLS)
    time.sleep(1.0)  # time for anything that would load or run to do so

    assert "Error" not in notebook.errors(), notebook.errors()
    state = page.evaluate(_LIVE_JS, _CELLS)
    page.screenshot(path=str(artifacts_dir / "hostile-reply.png"), full_page=True)
    assert state["pwned"] is None, f"a payload ran: {state['pwned']}"
    assert state["found"] == [], f"live elements from the reply: {state['found']}"

    frame = page.frame_locator(f"{_CELLS} >> nth=5 >> iframe")
    assert frame.locator("img").count() == 2 and "You said" in frame.locator("body").inner_text()
    loaded = frame.locator("body").evaluate(
        "(b) => Array.from(b.querySelectorAll('img')).filter(i => i.naturalWidth > 0).length"
    )
    assert loaded == 0, "nothing loads inside the -f html frame, not even a data: image"
    cells = page.locator(_CELLS)
    for streamed_or_not in (1, 2):
        markdown = notebook.outputs(cells.nth(streamed_or_not))
        assert "<script>" in markdown.inner_text(), "the reply is shown, as text"
        assert markdown.locator("strong", has_text="still bold").count() == 1, "Markdown formatting stays"
        assert markdown.locator("a", has_text="[image: exfil]").count() == 1, "an image becomes a link"
    for streamed_or_not in (3, 4):
        code = notebook.outputs(cells.nth(streamed_or_not)).locator("pre code").inner_text()
        assert "onerror" in code and "````" in code, "the fenced reply is shown whole inside the code block"
