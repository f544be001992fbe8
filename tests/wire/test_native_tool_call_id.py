"""Why native tool results carry `tool_name` and no `tool_call_id`: the installed ollama SDK cannot send it.

Ollama's `/api/chat` accepts `tool_call_id` on a tool message, but ollama-python (0.6.3, the newest on
PyPI when this was written) declares no such field on its `Message`, ignores unknown keys, and
re-validates every message in `Client.chat` (`_copy_messages`), so the key never reaches the wire.
"""

from __future__ import annotations

import ollama
from sample_tools import add

from alloy_nb import ask
from alloy_nb._messages import ToolResult
from alloy_nb._strategies.native import wire_message
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply


def test_native_tool_results_carry_tool_name_only_because_the_sdks_message_has_no_tool_call_id(server) -> None:
    """Records a block, not a wish. When this fails, the installed ollama SDK has gained `tool_call_id`
    (on `Message`, and likely `id` on `Message.ToolCall`): alloy_nb's native strategy should then send it
    beside `tool_name` (`alloy_nb/_strategies/native.py`, `wire_message`), and this test should become
    one that asserts both reach the server."""
    fields = ollama.Message.model_fields
    assert "tool_name" in fields and "tool_call_id" not in fields
    assert "id" not in ollama.Message.ToolCall.model_fields
    sent = {"role": "tool", "content": "5", "tool_name": "add", "tool_call_id": "call_0"}
    assert "tool_call_id" not in ollama.Message.model_validate(sent).model_dump(exclude_none=True)  # dropped

    assert wire_message(ToolResult(call_id="call_0", name="add", text="5"), []) == {
        "role": "tool",
        "tool_name": "add",
        "content": "5",
    }
    server.script(Reply(tool_calls=[Call("add", {"a": 2, "b": 3})]), Reply(text="The sum is 5."))
    assert ask("What is 2 + 3?", tools=[add], api="native") == "The sum is 5."
    built = next(m for m in server.requests[1].body["messages"] if m["role"] == "tool")
    assert built == {"role": "tool", "tool_name": "add", "content": "5"}  # what went over the wire
