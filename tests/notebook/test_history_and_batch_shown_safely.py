"""`%alloy history`, the status line and the batch table show control and bidi characters as stand-ins."""

from __future__ import annotations

from alloy_nb import ask
from alloy_nb._messages import ToolCall
from alloy_nb._notebook.call_status import event_line
from alloy_nb._trace.events import ResponseEvent, ToolEvent
from alloy_nb.testing import ScriptedTurn as Reply

HOSTILE = "clear\x1b[2J then invoice\u202efdp.exe"


def test_history_prints_the_prompt_on_one_line_with_stand_ins(shell, server, capsys) -> None:
    shell.run_cell_magic("alloy", "--no-stream", f"{HOSTILE}\nsecond line")
    capsys.readouterr()
    shell.run_line_magic("alloy", "history")
    shown = capsys.readouterr().out
    assert "clear␛[2J then invoice<U+202E>fdp.exe second line" in shown
    assert "\x1b" not in shown and "\u202e" not in shown


def test_the_status_line_shows_tool_names_with_stand_ins() -> None:
    tool = ToolEvent(turn=0, call_id="c0", name="invoice\u202efdp.exe", arguments={})
    asked = ResponseEvent(turn=0, tool_calls=[ToolCall(id="c1", name="x\x1b]52;c;aGk=\x07", arguments={})])
    assert event_line(tool, "m") == "tool invoice<U+202E>fdp.exe running…"
    assert "␛]52;c;aGk=␇" in (event_line(asked, "m") or "")


def test_the_batch_table_shows_items_and_values_with_stand_ins(alloy_at_server) -> None:
    alloy_at_server.script(Reply(text=HOSTILE))
    result = ask.map([HOSTILE], progress=False)
    page = result._repr_html_()
    assert page.count("invoice&lt;U+202E&gt;fdp.exe") == 2 and "clear␛[2J" in page
    assert "\u202e" not in page and "\x1b" not in page
