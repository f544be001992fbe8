"""`%%alloy -t TOOL` cells stream in a real IPython shell: each turn's text as it comes, a status line
for each tool call and its result between the turns, then the answer with the footer."""

from __future__ import annotations

import pytest
from sample_tools import add
from streamed_steps import check_tool_steps_streamed
from wire_shapes import wire_path

from alloy_nb._choices import STRATEGIES
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply


@pytest.mark.parametrize("api", STRATEGIES)
def test_a_tool_cell_streams_its_turns_with_the_tool_steps_between(shell, server, api: str) -> None:
    shell.user_ns["add"] = add
    server.script(
        Reply(chunks=["Let ", "me ", "add."], tool_calls=[Call("add", {"a": 2, "b": 3})]),
        Reply(chunks=["The ", "sum ", "is ", "5."], chunk_delay=0.1),
    )
    assert shell.run_cell(f"%%alloy -t add -f text --api {api}\nWhat is 2 + 3?").success
    plain = [output["text/plain"] for output in shell.display_pub.outputs if "text/plain" in output]
    check_tool_steps_streamed(plain, api)
    assert plain[-1].startswith(f"The sum is 5.\n\n— smollm2:135m · {api}") and "1 tool run" in plain[-1]
    assert shell.user_ns["_alloy"] == "The sum is 5."
    trace = shell.user_ns["_alloy_trace"]
    assert trace.stream and [e.result for e in trace.tool_events] == ["5"]
    assert trace.strategy == api and {request.path for request in server.requests} == {wire_path(api)}


def test_the_tool_lines_of_a_markdown_cell_are_escaped(shell, server) -> None:
    shell.user_ns["add"] = add
    server.script(
        Reply(tool_calls=[Call("add", {"a": "<b>2</b>", "b": 3})]),
        Reply(chunks=["Not ", "a ", "number."], chunk_delay=0.1),
    )
    assert shell.run_cell("%%alloy -t add\nWhat is 2 + 3?").success
    pages = [output["text/html"] for output in shell.display_pub.outputs if "text/html" in output]
    shown = next(page for page in pages if "Not" in page)
    assert "tool add({&quot;a&quot;: &quot;&lt;b&gt;2&lt;/b&gt;&quot;, &quot;b&quot;: 3}) running…" in shown
    assert "<b>2</b>" not in shown and "tool add → Error: Invalid arguments" in shown
    assert pages[-1].startswith("<p>Not a number.</p>")
