"""`%%alloy --unconstrained`: the schema in the prompt only and no tool-call grammar, as the trace says."""

from __future__ import annotations

from sample_types import Invoice

from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply

INVOICE = '{"number": "A-5", "total": 5}'


def test_unconstrained_sends_no_format_and_the_trace_says_so(shell, server) -> None:
    shell.user_ns["Invoice"] = Invoice
    server.script(Reply(text=INVOICE), Reply(text=INVOICE))
    assert shell.run_cell("%%alloy -o Invoice --no-stream\nMake an invoice.").success
    assert shell.run_cell("%%alloy -o Invoice --unconstrained --no-stream\nMake an invoice.").success
    enforced, free = (request.body for request in server.requests)
    assert "format" in enforced and "format" not in free
    assert shell.user_ns["_alloy"] == Invoice(number="A-5", total=5.0)
    trace = shell.user_ns["_alloy_trace"]
    assert trace.request_settings["constrained"] is False
    assert "constraints: schema in the prompt only" in trace._repr_html_()


def test_unconstrained_asks_for_no_tool_grammar_while_streaming(shell, server) -> None:
    shell.run_cell("def add(a: int, b: int) -> int:\n    '''Add.'''\n    return a + b")
    server.script(Reply(tool_calls=[Call("add", {"a": 2, "b": 3})]), Reply(text="5"))
    assert shell.run_cell("%%alloy -t add --unconstrained\nWhat is 2 + 3?").success
    assert [request.tool_grammar for request in server.requests] == [False, False]  # as the server read it
    assert shell.user_ns["_alloy"] == "5"


def test_the_flag_is_in_the_help() -> None:
    from alloy_nb._notebook.magics import AlloyMagics

    assert "--unconstrained" in (AlloyMagics.alloy.__doc__ or "")
