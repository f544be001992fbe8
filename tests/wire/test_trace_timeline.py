"""The timeline of real calls through every strategy: a bar per request and per tool run, timed."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser

from alloy_nb import ask, tool
from alloy_nb._trace.timeline import timeline_bars
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply

EVIL_NAME = "<img src=x onerror=alert(1)>"


@tool
def slow_add(a: int, b: int) -> int:
    """Add two integers, slowly."""
    time.sleep(0.03)
    return a + b


@tool(name=EVIL_NAME)
def evil(text: str) -> str:
    """Echo markup."""
    return EVIL_NAME


def test_bars_follow_the_calls_real_timing(server, api: str) -> None:
    server.script(Reply(tool_calls=[Call("slow_add", {"a": 2, "b": 3})], delay=0.05), Reply(text="The sum is 5."))
    _, trace = ask.traced("What is 2 + 3?", tools=[slow_add], api=api)
    bars = timeline_bars(trace)
    first, second = [[b for b in bars if b.label == f"turn {turn}"] for turn in (0, 1)]
    [run] = [b for b in bars if b.kind == "tool"]
    assert sum(b.duration_s for b in first) >= 0.05 and run.duration_s >= 0.03
    assert first[-1].end_s <= run.start_s <= run.end_s <= second[0].start_s <= second[-1].end_s
    assert second[-1].end_s <= (trace.duration_s or 0)

    page = trace._repr_html_()
    assert len(re.findall(r'<span class="at-tl-label">turn \d</span>', page)) == 2
    assert page.count("at-tl-bar at-tl-tool ") == 1 and "⚙ slow_add" in page
    assert re.search(r"run \d+\.\d ms", page) and re.search(r"wait \d+\.\d ms", page)


def test_a_stream_shows_its_generation_rate(server) -> None:
    server.script(Reply(text="Once upon a time.", chunk_delay=0.01, completion_tokens=4))
    stream = ask.stream("A story.")
    assert "".join(stream) == "Once upon a time."
    wait, generation = timeline_bars(stream.trace)
    assert wait.end_s == generation.start_s and generation.tokens_per_s is not None
    assert "tok/s" in stream.trace._repr_html_()


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.append(tag)


def test_tool_and_reply_markup_is_only_shown_escaped(server, api: str) -> None:
    server.script(Reply(tool_calls=[Call(EVIL_NAME, {"text": "x"})]), Reply(text="<script>alert(1)</script>"))
    value, trace = ask.traced("Echo.", tools=[evil], api=api)
    assert value == "<script>alert(1)</script>" and trace.tool_events[0].result == EVIL_NAME
    page = trace._repr_html_()
    parser = _Tags()
    parser.feed(page)
    assert "img" not in parser.names and "script" not in parser.names
    assert "<img" not in page and "<script" not in page
    assert "⚙ &lt;img src=x onerror=alert(1)&gt;" in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
