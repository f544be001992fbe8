"""The notebook table of logged calls: every string from a model, tool or user arrives escaped."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from log_helpers import make_trace

from alloy_nb._log import search
from alloy_nb._log.store import connect, insert_many, row_of
from alloy_nb._views.log_table import log_table_html, log_table_text
from alloy_nb._views.style import stylesheet

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "'><iframe src=javascript:alert(1)>",
]
EVIL = " ".join(PAYLOADS)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def logged(db: Path) -> list:
    traces = [
        make_trace(EVIL, EVIL, model="ollama:" + PAYLOADS[2]),
        make_trace("fine", error=RuntimeError(EVIL)),
    ]
    traces[0].id = PAYLOADS[1]
    with connect(db) as conn:
        insert_many(conn, [row_of(trace) for trace in traces])
    conn.close()
    return search(path=db)


def test_every_payload_is_escaped(db: Path) -> None:
    html = log_table_html(logged(db))
    assert {tag for tag, _ in tags(html)} <= {"div", "style", "table", "thead", "tbody", "tr", "th", "td"}
    for _, attrs in tags(html):
        assert {name for name, _ in attrs} <= {"class", "title", "colspan"}  # colspan: a failed call's cause line
        assert all("alert" not in (value or "") or name == "title" for name, value in attrs)
    for payload in PAYLOADS:
        assert payload not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<link" not in html and "<script" not in html
    assert html.count("<style") == 1 and f"<style>{stylesheet('table')}</style>" in html  # alloy_nb's own, once


def test_errors_are_highlighted_and_shown(db: Path) -> None:
    html = log_table_html(logged(db))
    error_rows = [attrs for tag, attrs in tags(html) if tag == "tr" and attrs]
    assert [dict(attrs)["class"] for attrs in error_rows] == ["av-failed av-cause", "av-failed"]  # its cause first
    assert "RuntimeError: &lt;script&gt;" in html


def test_the_text_fallback_and_empty_tables(db: Path) -> None:
    calls = logged(db)
    text = log_table_text(calls)
    assert text.splitlines()[0].split() == ["id", "time", "model", "status", "tokens", "prompt", "reply"]
    assert "RuntimeError: <script>" in text  # plain text is not markup: shown as written
    assert log_table_text([]) == "No logged calls match."
    assert "No logged calls" in log_table_html([])
