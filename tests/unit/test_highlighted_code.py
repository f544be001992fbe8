"""Code blocks in replies are highlighted by Pygments as classes only: the one stylesheet colours each
token class from the palette, nothing the model wrote becomes markup, an unknown or missing language
stays plain escaped code, and Pygments is imported at the first block that names a language."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest

from alloy_nb._views.palette import PALETTE
from alloy_nb._views.reply import highlighted_code, markdown_html, markdown_page
from alloy_nb._views.style import TOKEN_PREFIX, stylesheet

ROOT = Path(__file__).resolve().parents[2]
HOSTILE_CODE = [
    "</code></pre><script>alert(1)</script>",
    "x = '<img src=x onerror=alert(1)>'",
    "\"'><svg onload=alert(1)>",
    "# </span><a href='javascript:alert(1)'>x</a>",
    "s = '\u202eexe.pdf' & \"&amp;\"",
]
LANGUAGES = ["python", "js", "html", "json", "bash", "diff", "Python"]


class _Parts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parts(markup: str) -> _Parts:
    parser = _Parts()
    parser.feed(markup)
    parser.close()
    return parser


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("code", HOSTILE_CODE)
def test_a_highlighted_block_is_spans_with_classes_and_the_code_as_text(language: str, code: str) -> None:
    rendered = markdown_html(f"```{language}\n{code}\n```")
    found = parts(rendered)
    assert {tag for tag, _ in found.tags} <= {"pre", "code", "span"}, rendered
    for tag, attrs in found.tags:
        assert set(attrs) <= {"class"}, f"<{tag} {attrs}>: no style= or anything else from Pygments"
        if tag == "span":
            assert all(name.startswith(TOKEN_PREFIX) for name in (attrs["class"] or "").split())
    assert "".join(found.text) == code + "\n\n", "every character of the code, as text (and markdown-it's newline)"


def test_python_is_coloured_by_token_kind() -> None:
    rendered = markdown_html("```python\ndef area(r):\n    return 3.14 * r  # about\n```")
    for token in (
        '<span class="hl-k">def</span>',
        '<span class="hl-nf">area</span>',
        '<span class="hl-mf">3.14</span>',
    ):
        assert token in rendered
    assert '<span class="hl-c1"># about</span>' in rendered
    assert '<code class="language-python">' in rendered


@pytest.mark.parametrize("fence", ["```\n", "```no-such-language\n", "~~~\n"])
def test_no_language_or_an_unknown_one_stays_plain_escaped_code(fence: str) -> None:
    rendered = markdown_html(f"{fence}if a < b: print('<b>')\n{fence[:3]}")
    assert "<span" not in rendered
    assert "if a &lt; b: print('&lt;b&gt;')" in rendered
    assert highlighted_code("x = 1", "no-such-language") is None and highlighted_code("x = 1", "") is None


def test_a_very_long_block_stays_plain() -> None:
    assert highlighted_code("x = 1\n" * 5000, "python") is None


def test_every_token_class_pygments_writes_for_common_languages_is_coloured_or_plain_on_purpose() -> None:
    """The stylesheet colours the token kinds with a role, each from a palette colour that exists."""
    sheet = stylesheet("reply")
    for role in re.findall(r"var\(--av-(code-[a-z-]+)\)", sheet):
        assert role in PALETTE, role
    for kind in ("k", "kd", "s2", "s1", "c1", "mi", "mf", "nf", "nc", "nb", "o", "nd", "nt", "gi", "gd"):
        assert f".{TOKEN_PREFIX}{kind}{{" in sheet or f".{TOKEN_PREFIX}{kind}," in sheet, kind
    assert "style=" not in sheet


def test_the_rendered_reply_carries_the_rules_its_code_needs() -> None:
    page = markdown_page(markdown_html("```python\nx = 1\n```"))
    assert page.startswith('<div class="alloy-view"><style>') and f"<style>{stylesheet('reply')}</style>" in page
    assert '<div class="av-markdown">' in page and 'class="hl-n"' in page
    plain = markdown_html("**no code here**\n\n```\nx\n```")
    assert markdown_page(plain) == plain, "a reply without highlighted code keeps the notebook's own look"


def test_pygments_is_a_declared_dependency_imported_at_the_first_highlighted_block() -> None:
    project = (ROOT / "pyproject.toml").read_text()
    dependencies = project.split("\ndependencies = [", 1)[1].split("\n]", 1)[0]  # (tomllib is Python 3.11+)
    assert re.search(r'^\s*"pygments>=', dependencies, re.MULTILINE), "a dependency of its own, not IPython's"
    script = textwrap.dedent("""
        import json, sys
        from alloy_nb._views.reply import markdown_html
        markdown_html("plain *text* and ```\\ncode\\n```")
        before = "pygments" in sys.modules
        markdown_html("```python\\nx = 1\\n```")
        print(json.dumps([before, "pygments" in sys.modules]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [False, True]
