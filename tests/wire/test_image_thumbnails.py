"""A traced image's thumbnail in the HTML view: a whole PNG data URI in `<img src>`, or no `<img>` and a
plain-text note outside it; never a cut one, never markup inside the attribute."""

from __future__ import annotations

import base64
import io
import os
import re
from html.parser import HTMLParser

import pytest
from PIL import Image as PILImage

from alloy_nb import ask
from alloy_nb._capabilities import forget
from alloy_nb._views.text import MAX_SHOWN_CHARS

VISION = "ollama:gemma3:4b"
PNG_DATA_URI = re.compile(r"data:image/png;base64,[A-Za-z0-9+/]+={0,2}")


class _Images(HTMLParser):
    """Each `<img>`'s src as a browser reads it, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str | None] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.sources.append(dict(attrs).get("src"))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(page: str) -> _Images:
    parser = _Images()
    parser.feed(page)
    parser.close()
    return parser


def noise(side: int = 300) -> bytes:
    """A PNG of random pixels: its thumbnail does not compress (about 49,000 characters of base64)."""
    return png(PILImage.frombytes("RGB", (side, side), os.urandom(side * side * 3)))


def png(picture: PILImage.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _fresh_capabilities():
    forget()
    yield
    forget()


def test_a_thumbnail_longer_than_the_views_cut_stays_whole(server) -> None:
    _, trace = ask.traced("Describe.", images=[noise()], model=VISION)
    [thumbnail] = [image.thumbnail for image in trace.images]
    assert thumbnail is not None and len(thumbnail) > MAX_SHOWN_CHARS
    [source] = parsed(trace._repr_html_()).sources
    assert source == thumbnail and PNG_DATA_URI.fullmatch(source)
    with PILImage.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))) as shown:
        assert max(shown.size) <= 96


def test_a_thumbnail_longer_than_trace_max_chars_is_dropped_and_says_so(server) -> None:
    solid = png(PILImage.new("RGB", (8, 8), "red"))  # a thumbnail of a few hundred characters
    _, trace = ask.traced("Describe.", images=[noise(), solid], model=VISION, trace_max_chars=1_000)
    big, small = trace.images
    assert small.thumbnail is not None and PNG_DATA_URI.fullmatch(small.thumbnail)  # it fits: kept
    assert big.thumbnail is not None and not big.thumbnail.startswith("data:")
    assert "not kept in the trace; trace_max_chars=1000" in big.thumbnail
    page = parsed(trace._repr_html_())
    assert page.sources == [small.thumbnail]
    assert all(source is not None and PNG_DATA_URI.fullmatch(source) for source in page.sources)
    assert any("not kept in the trace; trace_max_chars=1000" in text for text in page.text)
    assert all(len(value) <= 1_100 for value in _strings(trace.to_dict()))


def test_a_cut_or_forged_thumbnail_in_a_loaded_trace_is_not_an_image(server) -> None:
    _, trace = ask.traced("Describe.", images=[noise(40), noise(40)], model=VISION)
    first, second = trace.images
    first.thumbnail = (first.thumbnail or "")[:200] + '… [cut]" onerror="alert(1)'
    second.thumbnail = "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="
    page = parsed(trace._repr_html_())
    assert page.sources == []
    assert sum("thumbnail not shown" in text for text in page.text) == 2


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _strings(item)]
    return []
