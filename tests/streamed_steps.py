"""What a streamed `%%alloy -t add` cell shows, in a shell or a kernel: the checks both share."""

from __future__ import annotations


def check_tool_steps_streamed(plain: list[str], api: str) -> tuple[str, str]:
    """Assert the plain-text updates show the first turn and the call, then the tool's result, then the
    second turn as it streams; returns the call's arguments as the model wrote them and the result line."""
    arguments = '{"a": 2, "b": 3}' if api == "native" else '{"a":2,"b":3}'  # as the model wrote them
    running = f"Let me add.\n[tool add({arguments}) running…]\n"
    assert running in plain, "the first turn's text, then the call, shown before the tool's result"
    result = f"{running}\n[tool add → 5]\n"
    streaming = [text for text in plain if text.startswith(result) and text != result]
    assert result in plain and "is 5." not in streaming[0], "the result, then the second turn as it streams"
    return arguments, result
