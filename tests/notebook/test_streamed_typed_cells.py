"""Every kind of `%%alloy` cell streams in a real IPython shell: `-o T` shows its value filling in (as
escaped JSON) and then the value as a cell without streaming shows it; `-o` with `-t` and `--chat`
cells stream too; `--no-stream` still waits for the whole reply."""

from __future__ import annotations

import time
from typing import Any

from sample_tools import add
from sample_types import Invoice, Order

from alloy_nb._outputs import OutputSpec
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply

JSON = ['{"number": ', '"<b>A1</b>", ', '"total": ', "12", ".5}"]
INVOICE = Invoice(number="<b>A1</b>", total=12.5)
PARTIAL = '{\n  "number": "<b>A1</b>",\n  "total": 12.0\n}'  # the value once "total": 12 has come


def published(shell: Any, mime: str) -> list[Any]:
    return [output[mime] for output in shell.display_pub.outputs if mime in output]


def test_a_typed_cell_shows_its_value_filling_in_then_the_value(shell, server) -> None:
    shell.user_ns["Invoice"] = Invoice
    server.script(Reply(chunks=JSON, chunk_delay=0.1))
    assert shell.run_cell("%%alloy -o Invoice\nThe invoice?").success
    plain, pages = published(shell, "text/plain"), published(shell, "text/html")
    assert '{"number": "<b>A1</b>", ' in plain, "the JSON as it streams, before anything validates"
    assert PARTIAL in plain, "the value so far, as JSON"
    escaped = "<pre><code>{\n  &quot;number&quot;: &quot;&lt;b&gt;A1&lt;/b&gt;&quot;,\n  &quot;total&quot;: 12.0\n}"
    assert any(page.startswith(escaped) for page in pages) and not any("<b>A1" in page for page in pages)
    assert plain[-1].startswith(repr(INVOICE) + "\n\n— smollm2:135m · native"), "the value as typed cells show it"
    assert shell.user_ns["_alloy"] == INVOICE and shell.user_ns["_alloy_trace"].stream

    server.script(Reply(chunks=JSON))
    assert shell.run_cell("%%alloy -o Invoice --no-stream\nThe invoice?").success
    assert shell.user_ns["_alloy"] == INVOICE and not shell.user_ns["_alloy_trace"].stream


def test_a_typed_cell_with_tools_streams_the_tool_steps_and_the_value(shell, server) -> None:
    shell.user_ns.update({"Invoice": Invoice, "add": add})
    server.script(Reply(tool_calls=[Call("add", {"a": 10, "b": 2})]), Reply(chunks=JSON, chunk_delay=0.1))
    assert shell.run_cell("%%alloy -o Invoice -t add -f text\nThe invoice?").success
    plain = published(shell, "text/plain")
    steps = '[tool add({"a": 10, "b": 2}) running…]\n\n[tool add → 12]\n'
    assert any(text.startswith(f"\n{steps}{PARTIAL}") for text in plain), "the tool steps, then the value so far"
    assert plain[-1].startswith(repr(INVOICE)) and "1 tool run" in plain[-1]
    trace = shell.user_ns["_alloy_trace"]
    assert shell.user_ns["_alloy"] == INVOICE and trace.stream and [e.result for e in trace.tool_events] == ["12"]


def test_chat_cells_stream_typed_or_not_and_keep_the_exchange(shell, server) -> None:
    shell.user_ns["Invoice"] = Invoice
    server.script(Reply(chunks=["Hello ", "there."], chunk_delay=0.1), Reply(chunks=JSON, chunk_delay=0.1))
    assert shell.run_cell("%%alloy --chat -f text\nHi!").success
    assert shell.user_ns["_alloy_trace"].stream and "Hello " in published(shell, "text/plain")
    assert shell.run_cell("%%alloy --chat -o Invoice -f text\nThe invoice?").success
    assert shell.user_ns["_alloy"] == INVOICE and shell.user_ns["_alloy_trace"].stream
    assert PARTIAL in published(shell, "text/plain")
    sent = [(m["role"], m["content"]) for m in server.requests[-1].body["messages"] if m["role"] != "system"]
    assert sent[:2] == [("user", "Hi!"), ("assistant", "Hello there.")]


def test_a_typed_cell_whose_reply_does_not_validate_streams_the_finalize_turn(shell, server) -> None:
    shell.user_ns["Invoice"] = Invoice
    server.script(Reply(chunks=['{"number": ', '"A1"}']), Reply(chunks=JSON, chunk_delay=0.1))
    assert shell.run_cell("%%alloy -o Invoice -f text\nThe invoice?").success
    plain = published(shell, "text/plain")
    finalize = '{"number": "A1"}\n[finalize turn: asking once more for the answer in the schema…]\n'
    assert finalize + PARTIAL in plain, "the reply that did not validate, the finalize step, then its value so far"
    assert "after a finalize turn" in plain[-1]
    assert shell.user_ns["_alloy"] == INVOICE
    assert [r.finalize for r in shell.user_ns["_alloy_trace"].requests] == [False, True]


def test_a_long_typed_stream_parses_its_value_once_per_render_not_per_piece(shell, server, monkeypatch) -> None:
    items = [piece for n in range(1250) for piece in ('{"name": ', f'"i{n}", ', '"qty": ', f"{n}}}, ")]
    server.script(Reply(chunks=['{"number": "A1", "items": [', *items[:-1], f"{1249}}}]}}"]))
    parses = 0
    parse_partial = OutputSpec.parse_partial

    def counted(spec: OutputSpec, text: str) -> Any:
        nonlocal parses
        parses += 1
        return parse_partial(spec, text)

    monkeypatch.setattr(OutputSpec, "parse_partial", counted)
    shell.user_ns["Order"] = Order
    started = time.monotonic()
    assert shell.run_cell("%%alloy -o Order\nA long order.").success
    elapsed = time.monotonic() - started
    updates = shell.display_pub.updates
    assert 2 <= updates <= 15 * elapsed + 2, f"{updates} display updates in {elapsed:.2f}s"
    assert 1 <= parses <= updates, f"{parses} parses of the growing JSON for {updates} renders of 5,000 pieces"
    assert len(shell.user_ns["_alloy"].items) == 1250
