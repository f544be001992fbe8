"""The token view's probability tints: in a light and a dark theme each band is told from its neighbour
at a glance (a clear distance in OKLab, the perceptual space CSS's `oklab()` uses), its text reads on
it (WCAG contrast, 4.5:1), the dark set applies where a front end says its theme is dark, and a legend
of class-only HTML names each band's range."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from itertools import pairwise

import pytest

from alloy_nb._trace import Trace
from alloy_nb._trace.events import TokenLogprob
from alloy_nb._views.palette import DARK_THEMES, TOKEN_TINTS, Shade
from alloy_nb._views.style import stylesheet
from alloy_nb._views.tokens import BANDS, band, band_legend, tokens_html

# A just-noticeable difference in OKLab is about 0.02; neighbours that a glance tells apart sit several
# times further. The translucent tints this replaced were 0.05 apart over JupyterLab Dark's #111.
CLEAR = 0.1
READABLE = 4.5  # WCAG 2.1 AA for body text: tokens are 12 px
DARK_PAGE = (17, 17, 17)  # JupyterLab Dark's --jp-layout-color0
SHADES: tuple[Shade, ...] = ("light", "dark")


@pytest.mark.parametrize("shade", SHADES)
def test_each_band_is_far_from_its_neighbour(shade: Shade) -> None:
    fills = [_rgb(fill) for fill, _ in TOKEN_TINTS[shade]]
    gaps = [round(distance(a, b), 3) for a, b in pairwise(fills)]
    assert min(gaps) >= CLEAR, gaps


@pytest.mark.parametrize("shade", SHADES)
def test_each_band_text_reads_on_its_tint(shade: Shade) -> None:
    ratios = [round(contrast(_rgb(fill), _rgb(text)), 2) for fill, text in TOKEN_TINTS[shade]]
    assert min(ratios) >= READABLE, ratios


def test_the_measure_sees_the_muddy_tints_it_replaced() -> None:
    """The old translucent red, orange and yellow over #111: the distance check fails them."""
    old = [((229, 57, 53), 0.32), ((245, 124, 0), 0.26), ((253, 216, 53), 0.22)]
    on_dark = [_over(colour, alpha, DARK_PAGE) for colour, alpha in old]
    assert max(distance(a, b) for a, b in pairwise(on_dark)) < CLEAR
    assert distance(_rgb("#000000"), _rgb("#ffffff")) == pytest.approx(1.0, abs=0.01)
    assert contrast(_rgb("#000000"), _rgb("#ffffff")) == pytest.approx(21.0)


def test_there_is_a_tint_for_each_band_in_each_shade() -> None:
    assert {shade: len(tints) for shade, tints in TOKEN_TINTS.items()} == {
        "light": len(BANDS) + 1,
        "dark": len(BANDS) + 1,
    }


def test_the_stylesheet_names_each_band_text_and_fill_and_the_dark_set_under_each_dark_theme() -> None:
    sheet = stylesheet("tokens")
    for number in range(1, len(BANDS) + 2):
        rule = f".alloy-view .av-p{number}{{background:var(--av-token-p{number});color:var(--av-token-p{number}-text)}}"
        assert rule in sheet
    [dark] = re.findall(r"([^{}]+)\{(--av-token-p1:[^}]*)\}", sheet)
    assert dark[0].split(",") == [f"{theme} .alloy-view" for theme in DARK_THEMES]
    for number, (fill, text) in enumerate(TOKEN_TINTS["dark"], start=1):
        assert f"--av-token-p{number}:{fill};--av-token-p{number}-text:{text};" in dark[1]
    assert 'body[data-jp-theme-light="false"]' in DARK_THEMES  # what JupyterLab and Notebook 7 set


def test_the_token_view_has_a_legend_of_each_band_and_its_range() -> None:
    tokens = [TokenLogprob(token=word, logprob=math.log(chance)) for word, chance in (("Tides", 0.9), (" rise", 0.1))]
    view, legend = tokens_html(tokens), band_legend()
    assert legend in view and view.index('<div class="av-tokens">') < view.index(legend) < view.index("<details>")
    keys = re.findall(r'<span class="av-key av-p(\d)">([^<]*)</span>', legend)
    assert keys == [("1", "under 25%"), ("2", "25%–50%"), ("3", "50%–75%"), ("4", "75% or more")]
    assert [band(chance) for chance in (0.2, 0.25, 0.49, 0.5, 0.74, 0.75)] == [1, 2, 2, 3, 3, 4]  # as the legend says
    trace = Trace(model="m", host="h", strategy="native", status="ok")
    assert legend not in trace._repr_html_()  # no tokens, no legend


def test_the_legend_and_the_view_are_inert_class_only_markup() -> None:
    tokens = [TokenLogprob(token="<b style='color:red'>", logprob=math.log(0.3))]
    found = _Tags()
    found.feed(tokens_html(tokens).split("</style>", 1)[1])
    assert {tag for tag, _ in found.tags} <= {
        "div",
        "span",
        "details",
        "summary",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "code",
    }
    assert all(set(attrs) <= {"class", "title"} for _, attrs in found.tags), found.tags
    legend = _Tags()
    legend.feed(band_legend())
    assert all(set(attrs) <= {"class"} for _, attrs in legend.tags), legend.tags


def distance(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Euclidean distance in OKLab: about 0.02 is just noticeable, black to white is 1."""
    return math.dist(_oklab(a), _oklab(b))


def contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """WCAG 2.1's contrast ratio, 1 to 21."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _rgb(colour: str) -> tuple[float, ...]:
    return tuple(int(colour[index : index + 2], 16) for index in (1, 3, 5))


def _over(colour: tuple[int, ...], alpha: float, below: tuple[int, ...]) -> tuple[float, ...]:
    return tuple(top * alpha + under * (1 - alpha) for top, under in zip(colour, below, strict=True))


def _linear(channel: float) -> float:
    channel /= 255
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def _luminance(colour: tuple[float, ...]) -> float:
    red, green, blue = map(_linear, colour)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _oklab(colour: tuple[float, ...]) -> tuple[float, float, float]:
    """Björn Ottosson's OKLab from sRGB (https://bottosson.github.io/posts/oklab/)."""
    red, green, blue = map(_linear, colour)
    long = math.cbrt(0.4122214708 * red + 0.5363325363 * green + 0.0514459929 * blue)
    medium = math.cbrt(0.2119034982 * red + 0.6806995451 * green + 0.1073969566 * blue)
    short = math.cbrt(0.0883024619 * red + 0.2817188376 * green + 0.6299787874 * blue)
    return (
        0.2104542553 * long + 0.7936177850 * medium - 0.0040720468 * short,
        1.9779984951 * long - 2.4285922050 * medium + 0.4505937099 * short,
        0.0259040371 * long + 0.7827717662 * medium - 0.8086757660 * short,
    )


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
