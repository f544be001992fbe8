"""A typed `%%alloy -o T` cell shows its value as pretty, highlighted, escaped JSON, with the Python
value a click away in a folded "Python value"; streamed or not, pydantic models, dataclasses, enums,
lists and plain JSON types alike. Nothing in the value becomes markup."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from sample_types import Color, Invoice, Point

from alloy_nb._notebook.result_view import json_of, value_bundle
from alloy_nb._views.style import stylesheet
from alloy_nb._views.value import value_html
from alloy_nb.testing import ScriptedTurn as Reply

HOSTILE = Invoice(number="<script>alert(1)</script>\u202e", total=12.5)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            del self._in[len(self._in) - 1 - self._in[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        (self.styles if self._in and self._in[-1] == "style" else self.text).append(data)


def parsed(markup: str) -> _Page:
    page = _Page()
    page.feed(markup)
    page.close()
    return page


def test_the_value_view_is_json_then_the_python_repr_folded() -> None:
    markup = value_html('{\n  "number": "<b>A1</b>",\n  "total": 12.5\n}', "Invoice(number='<b>A1</b>', total=12.5)")
    page = parsed(markup)
    assert {tag for tag, _ in page.tags} <= {"div", "style", "pre", "code", "span", "details", "summary"}
    assert all(set(attrs) <= {"class"} for _, attrs in page.tags)
    assert page.styles == [stylesheet("reply")]
    text = "".join(page.text)
    assert text.index('"number": "<b>A1</b>"') < text.index("Python value") < text.index("Invoice(number=")
    assert "<b>A1" not in markup and '<span class="hl-nt">"number"</span>' in markup  # keys highlighted
    assert "<details><summary>Python value</summary>" in markup and "<details open" not in markup


def test_invisible_characters_in_the_value_are_shown() -> None:
    markup = value_bundle(HOSTILE)["text/html"]
    assert "\u202e" not in markup and "&lt;U+202E&gt;" in markup
    assert "<script" not in markup and "&lt;script&gt;" in markup


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Invoice(number="A1", total=12.5), '{\n  "number": "A1",\n  "total": 12.5\n}'),
        (Point(x=1, y=2), '{\n  "x": 1,\n  "y": 2\n}'),
        (Color.RED, '"red"'),
        ([Point(1, 2)], '[\n  {\n    "x": 1,\n    "y": 2\n  }\n]'),
        ({"é": [1, None, True]}, '{\n  "é": [\n    1,\n    null,\n    true\n  ]\n}'),
        (3.5, "3.5"),
    ],
)
def test_every_kind_of_typed_value_has_its_json(value: Any, shown: str) -> None:
    assert json_of(value) == shown
    bundle = value_bundle(value)
    assert bundle["text/plain"] == repr(value) and "Python value" in bundle["text/html"]


def test_a_value_with_its_own_display_or_without_json_keeps_its_repr() -> None:
    class Shown:
        def _repr_html_(self) -> str:
            return "<b>mine</b>"

    assert value_bundle(Shown())["text/html"] == "<b>mine</b>"
    assert set(value_bundle(object())) == {"text/plain"}


@pytest.mark.parametrize("stream", [True, False])
def test_a_typed_cell_shows_json_with_the_python_value_a_click_away(shell, server, stream: bool) -> None:
    shell.user_ns["Invoice"] = Invoice
    server.script(Reply(text='{"number": "<b>A1</b>", "total": 12.5}'))
    flags = "" if stream else " --no-stream"
    assert shell.run_cell(f"%%alloy -o Invoice{flags}\nThe invoice?").success
    final = shell.display_pub.outputs[-1]
    markup = final["text/html"]
    text = "".join(parsed(markup).text)
    assert '"number": "<b>A1</b>",\n  "total": 12.5' in text and "<b>A1" not in markup
    assert (
        text.index('"total"') < text.index("Python value") < text.index(repr(Invoice(number="<b>A1</b>", total=12.5)))
    )
    assert "smollm2:135m · native" in text, "the footer every cell ends with"
    assert final["text/plain"].startswith(repr(shell.user_ns["_alloy"]))
