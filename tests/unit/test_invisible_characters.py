"""Control, bidi and zero-width characters are shown, not obeyed: one rule (`alloy_nb._visible`) for
the trace view, the timeline, the reply diff, the log table and the command line, on a real call
whose tool names and arguments are spoofed (`invoice\\u202efdp.exe` reads as `invoiceexe.pdf`)."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from sample_tools import add

import alloy_nb
from alloy_nb import ask, logs, tool
from alloy_nb._trace import Trace
from alloy_nb._views.diff import diff_html
from alloy_nb._views.log_table import log_table_html
from alloy_nb._views.timeline import timeline_html
from alloy_nb._views.trace import trace_html
from alloy_nb._visible import visible, visible_json
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply

SPOOFED = "invoice\u202efdp.exe"  # shown as "invoiceexe.pdf" by a bidi-aware renderer
HIDDEN = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u200e\u200f\ufeff\u00ad\U000e0041"


def unshown(text: str) -> list[str]:
    """The characters of `text` that a terminal or a browser would obey or hide instead of showing."""
    return [c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Cs") and c not in "\n\t"]


def test_every_control_format_and_surrogate_character_gets_a_printable_stand_in() -> None:
    for point in range(0x110000):
        char = chr(point)
        if unicodedata.category(char) in ("Cc", "Cf", "Cs") and char not in "\n\t":
            assert visible(char) != char and visible(char).isprintable(), hex(point)


def test_the_stand_ins() -> None:
    assert visible("\x1b[2J\x07\x00\x7f") == "␛[2J␇␀␡"
    assert visible(SPOOFED) == "invoice<U+202E>fdp.exe"
    assert visible("\x9b31m \U000e0041 caf\udcff") == "<U+009B>31m <U+E0041> caf<U+DCFF>"
    assert visible("a\r\nb\rc\td") == "a\r\nb␍c\td"  # line ends and tabs keep the layout; a lone CR would not
    text = "Grüße, 東京, مرحبا, 👍 — “ok”"
    assert visible(text) == text


def test_json_keeps_the_exact_text_with_json_escapes() -> None:
    value = {"name": SPOOFED, "raw": "\x1b\x9b\U000e0041 é"}
    line = visible_json(value)
    assert json.loads(line) == value and unshown(line) == []
    assert "\\u202e" in line and "\\udb40\\udc41" in line and "é" in line


@pytest.fixture
def spoofed_call(tmp_path: Path, alloy_at_server, server) -> Trace:
    alloy_nb.configure(log_db=str(tmp_path / "calls.db"))
    server.script(
        Reply(
            tool_calls=[
                Call(SPOOFED, {"path": "report\u202etxt.exe"}),
                Call("add", {"a": 1, "b": 2, "note\u200b": "x" + HIDDEN}),
            ]
        ),
        Reply(text="Done: \u2066" + SPOOFED + "\u2069" + HIDDEN),
    )
    _, trace = ask.traced("Open " + SPOOFED, tools=[add])
    assert {event.name for event in trace.tool_events} == {SPOOFED, "add"}
    return trace


def test_the_trace_view_timeline_and_diff_show_them(spoofed_call: Trace) -> None:
    for page in (
        trace_html(spoofed_call),
        timeline_html(spoofed_call),
        diff_html(spoofed_call, Trace(model="m", strategy="native", host="h")),
    ):
        assert unshown(page) == []
    page = trace_html(spoofed_call)
    assert page.count("invoice&lt;U+202E&gt;fdp.exe") >= 3  # the prompt, the call, the tool run
    assert "report&lt;U+202E&gt;txt.exe" in page and "note&lt;U+200B&gt;" in page
    assert "⚙ invoice&lt;U+202E&gt;fdp.exe" in timeline_html(spoofed_call)
    assert unshown(spoofed_call.summary()) == [] and "invoice<U+202E>fdp.exe" in spoofed_call.summary()


def test_the_log_table_and_the_command_line_show_them(spoofed_call: Trace, tmp_path: Path) -> None:
    calls = logs.search()
    assert calls[0].reply.endswith(HIDDEN)  # kept as it came
    page = log_table_html(calls)
    assert unshown(page) == [] and "invoice&lt;U+202E&gt;fdp.exe" in page
    command = [Path(sys.executable).with_name("alloy-nb"), "logs", "--db", str(tmp_path / "calls.db")]
    for extra in ((), ("--json",)):
        shown = subprocess.run([*command, *extra], capture_output=True, timeout=60, check=True).stdout.decode()
        assert unshown(shown) == []
    assert "Open invoice<U+202E>fdp.exe" in subprocess.run(command, capture_output=True, check=True).stdout.decode()


@tool(name=SPOOFED)
def spoofed_add(a: int, b: int) -> int:
    """Add two numbers (under a name that reads backwards)."""
    return a + b


def test_a_replay_shows_a_spoofed_tool_name_and_host_in_its_notes(tmp_path: Path, alloy_at_server, server) -> None:
    alloy_nb.configure(log_db=str(tmp_path / "calls.db"))
    opened = Call(SPOOFED, {"a": 1, "b": 2})
    server.script(Reply(tool_calls=[opened]), Reply(text="Done."), Reply(tool_calls=[opened]), Reply(text="Again."))
    _, first = ask.traced("Open it.", tools=[spoofed_add])
    data = json.loads(first.to_json())
    data["host"] = "http://files\u202eexample/"
    replayed = logs.replay(Trace.from_json(json.dumps(data)))
    assert replayed.logged_tools == (SPOOFED,)
    page = replayed._repr_html_()
    assert unshown(page) == []
    assert "invoice&lt;U+202E&gt;fdp.exe answered with the logged results" in page
    assert "http://files&lt;U+202E&gt;example/" in page


def test_the_other_views_of_server_and_model_strings_show_them() -> None:
    from alloy_nb._views.capabilities import capability_line_html, model_info_html
    from alloy_nb._views.compare import compare_live_html
    from alloy_nb._views.status import error_html, footer_html, host_status_html, status_line_html
    from alloy_nb._views.tables import table_html

    pages = [
        compare_live_html([(SPOOFED, "streaming", "text" + HIDDEN)]),
        table_html(["name"], [[SPOOFED]], empty="none"),
        table_html(["name"], [], empty="none", error=SPOOFED),
        model_info_html(SPOOFED, [SPOOFED], [(SPOOFED, HIDDEN)]),
        capability_line_html([SPOOFED], [SPOOFED]),
        status_line_html(SPOOFED),
        footer_html(SPOOFED + "\n" + HIDDEN),
        host_status_html(SPOOFED, SPOOFED),
        error_html(SPOOFED + "\x1b[2J"),
    ]
    for page in pages:
        assert unshown(page) == [], page
        assert "invoice&lt;U+202E&gt;fdp.exe" in page, page
