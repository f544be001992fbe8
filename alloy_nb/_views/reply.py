"""A model's reply as HTML in which nothing it wrote is live: Markdown with its formatting kept, one
code block, a sandboxed frame for `-f html`, and the muted thinking above the answer.

Output a cell produces in the running session is *trusted* by JupyterLab, which then renders
`text/markdown` without its sanitizer: raw HTML in a reply (`<script>`, `onerror=`) would run.
So alloy_nb renders Markdown itself, with markdown-it-py's CommonMark parser in its HTML-off mode,
and shows the result as `text/html`. Safety does not depend on two Markdown parsers agreeing
about where code starts and ends: every character of the reply reaches the page escaped.

- Raw HTML in the reply is shown as text.
- Links keep working only for `http`, `https` and `mailto`; any other (`javascript:`,
  `data:`, relative) stays visible as the Markdown the model wrote.
- Images never load (a remote image can carry data out in its URL): each becomes a link.
- `-f html` goes into an iframe that runs no script (`sandbox`) and loads nothing (CSP).
- A fenced code block that names a language Pygments knows is highlighted: Pygments escapes every
  token and marks it with a class only (`hl-k`), which the one stylesheet colours from the palette;
  no `style=` attribute is written. Any other block stays plain escaped code. Pygments is imported
  at the first such block, never by `%load_ext`.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .style import TOKEN_PREFIX, page

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# The `html` view runs no script (sandbox) and loads nothing (CSP): a remote image could carry data out.
_NOTHING_LOADS = (
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
)
_SAFE_LINK = re.compile(r"(?:https?://|mailto:)[^\s]*\Z", re.IGNORECASE)
_OWN_FENCE = re.compile(r"\A\s*(`{3,}|~{3,})[^\n]*\n(?P<body>.*?)\n?[ \t]*\1[`~]*\s*\Z", re.DOTALL)
_HIGHLIGHTED_CHARS = 20_000  # a longer block stays plain: a lexer's time grows with it, for each render


def markdown_html(text: str) -> str:
    """The reply's Markdown rendered as HTML in which nothing from the reply is live."""
    return str(_markdown().render(text))


def markdown_page(rendered: str) -> str:
    """Rendered Markdown (`markdown_html`, one reply or its stretches) as one output: with highlighted
    code, under the views' root with the rules that colour it; else as it is, in the notebook's own look."""
    if f'class="{TOKEN_PREFIX}' not in rendered:
        return rendered
    return page(f'<div class="av-markdown">{rendered}</div>', "reply")


def highlighted_code(code: str, language: str) -> str | None:
    """`code` as escaped HTML, each token in a `<span>` with Pygments' class for it (`hl-k`, `hl-s2`), or
    None when Pygments has no lexer of that name (or the code is too long to be worth it).

    >>> highlighted_code("a < b", "python")
    '<span class="hl-n">a</span> <span class="hl-o">&lt;</span> <span class="hl-n">b</span>'
    >>> highlighted_code("x = 1", "no-such-language") is None
    True
    """
    if not language or len(code) > _HIGHLIGHTED_CHARS:
        return None
    from pygments import highlight
    from pygments.formatters.html import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(language.lower(), stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None
    shown = str(highlight(code, lexer, HtmlFormatter(nowrap=True, classprefix=TOKEN_PREFIX)))
    return shown if code.endswith("\n") else shown.removesuffix("\n")  # a lexer ends every text with one


def code_html(text: str) -> str:
    """The reply as one code block; a fence the model wrapped the whole reply in is dropped."""
    match = _OWN_FENCE.match(text)
    body = match.group("body") if match else text
    return f"<pre><code>{html.escape(body)}</code></pre>"


def sandboxed_html(text: str) -> str:
    """The reply as a page of its own, in an iframe that runs and loads nothing."""
    document = html.escape(_NOTHING_LOADS + text, quote=True)
    return page(f'<iframe class="av-frame" sandbox="" srcdoc="{document}"></iframe>', "reply")


def thinking_html(thinking: str, *, folded: bool) -> str:
    """The model's thinking, escaped and muted: open while it streams, folded once the answer starts."""
    state = "" if folded else " open"
    return page(
        f'<details class="alloy-thinking"{state}><summary>Thinking</summary>'
        f'<div class="av-thought">{html.escape(thinking)}</div></details>',
        "reply",
    )


def is_safe_link(url: str) -> bool:
    """`http(s)://…` and `mailto:` links are kept; every other scheme (and relative URLs) is not.

    >>> is_safe_link("https://ollama.com"), is_safe_link("javascript:alert(1)"), is_safe_link("../x")
    (True, False, False)
    """
    return bool(_SAFE_LINK.match(url.strip()))


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    options = {"html": False, "linkify": False, "typographer": False, "highlight": _highlight_fence}
    parser = MarkdownIt("commonmark", options)
    parser.enable(["table", "strikethrough"])
    parser.validateLink = is_safe_link  # type: ignore[method-assign]
    parser.add_render_rule("image", _image_as_link)
    parser.add_render_rule("link_open", _link_open)
    return parser


def _image_as_link(self: Any, tokens: list[Any], index: int, options: Any, env: Any) -> str:
    token = tokens[index]
    source = html.escape(str(token.attrGet("src") or ""), quote=True)
    label = html.escape(token.content or "image")
    return f'<a href="{source}" target="_blank" rel="noopener noreferrer nofollow">[image: {label}]</a>'


def _link_open(self: Any, tokens: list[Any], index: int, options: Any, env: Any) -> str:
    token = tokens[index]
    token.attrSet("target", "_blank")
    token.attrSet("rel", "noopener noreferrer nofollow")
    return str(self.renderToken(tokens, index, options, env))


def _highlight_fence(code: str, language: str, attributes: str) -> str:
    """markdown-it's `highlight` hook: "" leaves the block to markdown-it, which escapes it."""
    return highlighted_code(code, language) or ""
