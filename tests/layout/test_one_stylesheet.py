"""One stylesheet, one palette: no module outside them writes a colour, a `<style>` or an inline style
(the server's pages aside); every other view takes its look from classes the stylesheet styles. And the
views are plain functions from data to HTML: no IPython, no widgets."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "alloy_nb"
STYLE_MODULES = {"_views/palette.py", "_views/style.py"}  # at most two, by the design
OUTSIDE = ("server/",)
# #rgb, #rgba, #rrggbb, #rrggbbaa; rgb()/rgba()/hsl()/hsla(); a <style> element; an inline style attribute
STYLING = re.compile(
    r"#(?:[0-9a-f]{8}|[0-9a-f]{6}|[0-9a-f]{3,4})\b|\b(?:rgba?|hsla?)\(|<style|\bstyle=[\"']", re.IGNORECASE
)


def styling_in(text: str) -> list[str]:
    """Each colour, stylesheet or inline style written in `text`."""
    return [match.group(0) for match in STYLING.finditer(text)]


def test_colours_and_stylesheets_live_in_the_palette_and_the_stylesheet_only() -> None:
    strays = {
        relative: found
        for path in sorted(PACKAGE.rglob("*.py"))
        if (relative := path.relative_to(PACKAGE).as_posix()) not in STYLE_MODULES and not relative.startswith(OUTSIDE)
        if (found := styling_in(path.read_text()))
    }
    assert strays == {}


def test_the_style_modules_exist_and_hold_the_styling() -> None:
    assert len(STYLE_MODULES) <= 2
    found = {module: styling_in((PACKAGE / module).read_text()) for module in STYLE_MODULES}
    assert all(found.values()), found


def test_the_check_sees_each_kind_of_styling() -> None:
    sample = "a #b00020 b #8884 c rgba(0,0,0,.1) d rgb(1,2,3) e <style>f</style> g <td style='x'> h hsl(0 0% 0%)"
    assert styling_in(sample) == ["#b00020", "#8884", "rgba(", "rgb(", "<style", "style='", "hsl("]
    assert styling_in("issue #12, item 4; color: var(--av-ok); widgets.Button(style=button_style)") == []


def test_the_views_need_no_notebook() -> None:
    """`views/` builds HTML strings only: neither IPython nor ipywidgets, so the core renders without them."""
    frontends = ("IPython", "ipywidgets")
    found = {
        path.name: names
        for path in sorted((PACKAGE / "_views").glob("*.py"))
        if (names := [name for name in _imported_names(path) if name.split(".")[0] in frontends])
    }
    assert found == {}


def _imported_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.append(node.module or "")
    return names
