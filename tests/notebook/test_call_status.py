"""Every %%alloy cell says what it is doing while it runs and ends with the same footer."""

from __future__ import annotations

import uuid

from sample_types import Invoice

from alloy_nb._host import Host
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply


def shown(shell) -> list[str]:
    return [bundle["text/plain"] for bundle in shell.display_pub.outputs]


def test_a_waiting_tool_cell_shows_each_step_then_the_value_with_a_footer(shell, server) -> None:
    shell.user_ns["Invoice"] = Invoice
    shell.run_cell("def add(a: int, b: int) -> int:\n    '''Add.'''\n    return a + b")
    fresh = f"fresh{uuid.uuid4().hex[:8]}:1b"  # a model no earlier test has used: not in memory
    list(Host(url=server.url).pull(fresh))
    server.script(
        Reply(tool_calls=[Call("add", {"a": 2, "b": 3})]),
        Reply(text="not json"),
        Reply(text='{"number": "A-5", "total": 5}'),
    )
    assert shell.run_cell(f"%%alloy -m ollama:{fresh} -o Invoice -t add --no-stream\nInvoice for 2+3.").success
    lines = shown(shell)
    assert lines[0].startswith(f"loading {fresh} (the first call loads it into memory)")
    assert lines[1:5] == [
        f"waiting for {fresh}…",
        f"{fresh} asked for add",
        "tool add running…",
        f"turn 2: sending the tool results to {fresh}…",
    ]
    assert "finalize turn: asking once more for the answer in the schema…" in lines
    final = lines[-1]
    assert final.startswith("Invoice(number='A-5'")
    assert f"— {fresh} · native ·" in final and "tokens" in final
    assert "1 tool run" in final and "after a finalize turn" in final


def test_a_no_stream_cell_opens_with_calling_once_the_model_is_loaded(shell, server) -> None:
    server.script(Reply(text="warm"), Reply(text="hello"))
    assert shell.run_cell("%%alloy --no-stream\nwarm up").success
    shell.display_pub.outputs.clear()
    assert shell.run_cell("%%alloy --no-stream\nhi").success
    lines = shown(shell)
    assert lines[0] == "calling smollm2:135m via native…"
    assert lines[-1].startswith("hello\n\n— smollm2:135m · native")


def test_a_reply_cut_by_the_token_limit_says_so(shell, server) -> None:
    server.script(Reply(text="a b c", done_reason="length"), Reply(text="d e f", done_reason="length"))
    assert shell.run_cell("%%alloy --max-tokens 3\nLong story.").success
    assert shown(shell)[-1].endswith(
        "cut at the token limit of 3: raise --max-tokens (max_tokens=… in Python) for the rest"
    )
    assert shell.run_cell("%%alloy --no-stream --max-tokens 3\nLong story.").success
    assert "cut at the token limit" in shown(shell)[-1]


def test_a_failed_cell_replaces_its_status(shell, server) -> None:
    server.script(Reply(status=400, error="bad request"))
    assert not shell.run_cell("%%alloy --no-stream\nhi").success
    assert shown(shell)[-1].startswith("(failed: ServerError, below)")


def test_a_streamed_first_cell_says_it_is_loading_the_model(shell, server) -> None:
    fresh = f"fresh{uuid.uuid4().hex[:8]}:1b"  # a model no earlier test has used: not in memory
    list(Host(url=server.url).pull(fresh))
    server.script(Reply(chunks=["Hello ", "there."]))
    shell.display_pub.outputs.clear()
    assert shell.run_cell(f"%%alloy -m ollama:{fresh}\nhi").success
    first = shell.display_pub.outputs[0]["text/plain"]
    assert first == f"loading {fresh} (the first call loads it into memory)… then calling it via native"
    assert shell.display_pub.outputs[-1]["text/plain"].startswith("Hello there.")
