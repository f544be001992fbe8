"""The timeline: bars computed from hand-built traces, their HTML, and the batch view."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from alloy_nb._trace import ErrorInfo, RequestEvent, ResponseEvent, RetryEvent, ToolEvent, Trace, Usage
from alloy_nb._trace.timeline import Bar, timeline_bars
from alloy_nb._views.timeline import MAX_BATCH_ROWS, batch_timeline_html, timeline_html
from alloy_nb._views.trace import trace_html

EVIL = "<img src=x onerror=alert(1)> <script>alert(1)</script> \"quotes'"


def trace(*events, **fields) -> Trace:
    defaults = {"model": "ollama:m", "host": "http://127.0.0.1:11434", "strategy": "native", "status": "ok"}
    return Trace(**{**defaults, "events": list(events), **fields})


def request(turn: int, at_s: float, **fields) -> RequestEvent:
    return RequestEvent(turn=turn, endpoint="POST /api/chat", url="", at_s=at_s, **fields)


def spans(bars: list[Bar]) -> list[tuple[str, int, float, float]]:
    return [(b.kind, b.row, round(b.start_s, 6), round(b.duration_s, 6)) for b in bars]


def test_streamed_reply_waits_until_the_first_token_then_generates() -> None:
    made = trace(
        request(0, 0.1),
        ResponseEvent(turn=0, text="hi", at_s=1.1, duration_s=1.0, ttft_s=0.2, usage=Usage(completion_tokens=40)),
        duration_s=1.2,
    )
    wait, generation = timeline_bars(made)
    assert spans([wait, generation]) == [("wait", 0, 0.1, 0.2), ("generation", 0, 0.3, 0.8)]
    assert generation.tokens_per_s == pytest.approx(50.0) and wait.note == "sent → first token"


def test_thinking_sits_between_waiting_and_the_answer() -> None:
    reply = ResponseEvent(
        turn=0, at_s=1.0, duration_s=1.0, ttft_s=0.5, thinking_s=0.3, usage=Usage(completion_tokens=16)
    )
    bars = timeline_bars(trace(request(0, 0.0), reply, duration_s=1.0))
    assert spans(bars) == [("wait", 0, 0.0, 0.2), ("thinking", 0, 0.2, 0.3), ("generation", 0, 0.5, 0.5)]
    assert bars[-1].tokens_per_s == pytest.approx(16 / 0.8)  # thinking tokens count: first token → done


def test_a_reply_splits_by_the_servers_generation_time() -> None:
    reply = ResponseEvent(turn=0, at_s=0.6, duration_s=0.5, generation_s=0.2, usage=Usage(completion_tokens=10))
    wait, generation = timeline_bars(trace(request(0, 0.1), reply, duration_s=0.6))
    assert spans([wait, generation]) == [("wait", 0, 0.1, 0.3), ("generation", 0, 0.4, 0.2)]
    assert generation.tokens_per_s == pytest.approx(50.0) and "eval_duration" in wait.note


def test_reply_without_generation_timings_is_one_wait() -> None:
    [wait] = timeline_bars(trace(request(0, 0.0), ResponseEvent(turn=0, at_s=0.5, duration_s=0.5, raw={"id": "x"})))
    assert spans([wait]) == [("wait", 0, 0.0, 0.5)] and wait.note == "sent → reply (not streamed)"


def test_tool_runs_get_rows_of_their_own() -> None:
    made = trace(
        request(0, 0.0),
        ResponseEvent(turn=0, at_s=0.2, duration_s=0.2),
        ToolEvent(turn=0, call_id="a", name="add", at_s=0.21, duration_s=0.05, result="5"),
        ToolEvent(turn=0, call_id="b", name="fail", at_s=0.26, duration_s=0.01, error="boom"),
        request(1, 0.3),
        ResponseEvent(turn=1, at_s=0.5, duration_s=0.2),
        duration_s=0.5,
    )
    bars = timeline_bars(made)
    assert spans(bars) == [
        ("wait", 0, 0.0, 0.2),
        ("tool", 1, 0.21, 0.05),
        ("tool", 2, 0.26, 0.01),
        ("wait", 3, 0.3, 0.2),
    ]
    assert [b.label for b in bars] == ["turn 0", "⚙ add", "⚙ fail", "turn 1"]
    assert (bars[1].failed, bars[2].failed, bars[2].note) == (False, True, "error: boom")


def test_retries_show_the_failed_request_and_the_wait() -> None:
    error = ErrorInfo(type="ServerError", message="HTTP 503: busy")
    made = trace(
        request(0, 0.0),
        RetryEvent(scope="request", attempt=1, turn=0, error=error, wait_s=0.25, at_s=0.05),
        request(0, 0.3),
        ResponseEvent(turn=0, at_s=0.4, duration_s=0.1),
        duration_s=0.4,
    )
    failed, retry, again = timeline_bars(made)
    assert spans([failed, retry, again]) == [("wait", 0, 0.0, 0.05), ("retry", 1, 0.05, 0.25), ("wait", 2, 0.3, 0.1)]
    assert failed.failed and failed.note == "ServerError: HTTP 503: busy"
    assert (retry.label, again.label) == ("↻ retry", "turn 0 · try 2")


def test_a_retried_call_labels_its_attempt_and_the_finalize_turn_is_marked() -> None:
    made = trace(
        request(0, 0.0, attempt=2),
        ResponseEvent(turn=0, at_s=0.1, duration_s=0.1),
        request(1, 0.1, attempt=2, finalize=True),
        ResponseEvent(turn=1, at_s=0.2, duration_s=0.1),
        duration_s=0.2,
    )
    first, final = timeline_bars(made)
    assert (first.label, first.finalize) == ("turn 0 · attempt 2", False)
    assert (final.label, final.finalize) == ("turn 1 · attempt 2", True)
    assert timeline_html(made).count('<span class="at-tl-fin">finalize</span>') == 1


def test_a_request_without_reply_lasts_until_the_call_ended() -> None:
    made = trace(
        request(0, 0.1), status="error", error=ErrorInfo(type="ServerError", message="HTTP 500"), duration_s=0.4
    )
    [wait] = timeline_bars(made)
    assert spans([wait]) == [("wait", 0, 0.1, 0.3)] and wait.failed and wait.note == "ServerError: HTTP 500"


def test_old_traces_without_start_times_still_load_and_lay_out() -> None:
    made = trace(
        request(0, 0.0),
        ResponseEvent(turn=0, duration_s=0.2),
        ToolEvent(turn=0, call_id="a", name="add", duration_s=0.05),
        ToolEvent(turn=0, call_id="b", name="add", duration_s=0.05),
        duration_s=0.3,
    )
    data = json.loads(made.to_json())
    for event in data["events"]:
        if event["kind"] in ("response", "tool"):
            del event["at_s"]
    loaded = Trace.from_json(json.dumps(data))
    assert spans(timeline_bars(loaded)) == [("wait", 0, 0.0, 0.2), ("tool", 1, 0.2, 0.05), ("tool", 2, 0.25, 0.05)]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_only_classes(page: str) -> None:
    parser = _Tags()
    parser.feed(page)
    for tag, attrs in parser.tags:
        assert tag not in {"script", "img", "iframe", "a", "object", "embed"}
        assert all(name == "class" for name, _ in attrs), (tag, attrs)


def test_html_places_bars_with_classes_and_labels_durations() -> None:
    made = trace(
        request(0, 0.0),
        ResponseEvent(turn=0, at_s=1.0, duration_s=1.0, ttft_s=0.25, usage=Usage(completion_tokens=30)),
        ToolEvent(turn=0, call_id="a", name="add", at_s=1.0, duration_s=0.5),
        duration_s=2.0,
    )
    page = timeline_html(made)
    assert_only_classes(page)
    assert "at-tl-bar at-tl-wait at-tl-x0 at-tl-w125" in page and ".alloy-view .at-tl-w125{width:12.5%}" in page
    assert "at-tl-bar at-tl-generation at-tl-x125 at-tl-w375" in page and ".alloy-view .at-tl-x125{left:12.5%}" in page
    assert "at-tl-bar at-tl-tool at-tl-x500 at-tl-w250" in page
    assert "wait 250.0 ms · gen 750.0 ms · 40 tok/s" in page and "run 500.0 ms" in page
    assert '<span class="at-tl-tick at-tl-x1000 at-tl-tick-last">2.00 s</span>' in page  # axis ends at the duration
    assert "timeline · 2.00 s" in trace_html(made)


def test_model_and_tool_strings_are_escaped() -> None:
    made = trace(
        request(0, 0.0),
        ResponseEvent(turn=0, text=EVIL, at_s=0.1, duration_s=0.1),
        ToolEvent(turn=0, call_id=EVIL, name=EVIL, at_s=0.1, duration_s=0.1, error=EVIL),
        status="error",
        error=ErrorInfo(type=EVIL, message=EVIL),
        host=EVIL,
        duration_s=0.3,
    )
    for page in (timeline_html(made), batch_timeline_html([made])):
        assert_only_classes(page)
        assert "<img" not in page and "<script" not in page and "\"quotes'" not in page
        assert "⚙ &lt;img src=x onerror=alert(1)&gt;" in page


def test_batch_rows_sit_on_one_wall_clock_axis() -> None:
    first = trace(
        request(0, 0.0),
        ResponseEvent(turn=0, at_s=1.0, duration_s=1.0),
        started_at="2025-01-01T00:00:01.000+00:00",
        duration_s=1.0,
    )
    second = trace(
        request(0, 0.0),
        ResponseEvent(turn=0, at_s=1.0, duration_s=1.0),
        started_at="2025-01-01T00:00:00.000+00:00",
        duration_s=1.0,
        host="http://other:11434",
    )
    page = batch_timeline_html([first, second], indexes=[3, 7])
    assert_only_classes(page)
    assert "#3 · http://127.0.0.1:11434" in page and "#7 · http://other:11434" in page
    assert "at-tl-bar at-tl-wait at-tl-x500 at-tl-w500" in page  # item 3 started a second after item 7
    assert "at-tl-bar at-tl-wait at-tl-x0 at-tl-w500" in page
    assert "batch timeline · 2 items · 2.00 s" in page and "1.00 s · ok · 1 request" in page


def test_batch_caps_its_rows() -> None:
    made = trace(request(0, 0.0), ResponseEvent(turn=0, at_s=0.1, duration_s=0.1), duration_s=0.1)
    page = batch_timeline_html([made] * (MAX_BATCH_ROWS + 5))
    assert page.count('<span class="at-tl-label">#') == MAX_BATCH_ROWS and "… 5 more" in page


def test_batch_tolerates_unparsable_timestamps_and_no_items() -> None:
    odd = trace(request(0, 0.0), ResponseEvent(turn=0, at_s=0.1, duration_s=0.1), started_at="yesterday")
    assert "#0 · " in batch_timeline_html([odd]) and "no items" in batch_timeline_html([])
