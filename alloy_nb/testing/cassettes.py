"""Offline tests from recorded calls: a trace as scripted turns, and a server that plays them back.

    from alloy_nb import logs
    from alloy_nb.testing import cassette

    def test_summary_stays_the_same():
        with cassette("tests/cassettes/summary.json"):     # or a Trace, e.g. logs.get("3f2a9c…")
            assert summarise("…") == "…"                      # runs offline, through the real SDKs

Each recorded reply (text, thinking, tool calls, token counts, how it ended) becomes one scripted
turn, in order, so the code under test sends the same requests and gets the same replies; its
tools run again for real. Failed attempts that were retried are not replayed, only replies.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alloy_nb._config import model_name
from alloy_nb._trace import Trace
from alloy_nb.server import ScriptedToolCall
from alloy_nb.server.demo import DEFAULT_MODELS

from .scripted import ScriptedEngine, ScriptedTurn
from .scripted_server import ScriptedServer, scripted_server


def to_script(trace: Trace) -> list[ScriptedTurn]:
    """The scripted turns that answer the trace's requests exactly as its replies did."""
    return [
        ScriptedTurn(
            text=response.text,
            thinking=response.thinking or "",
            tool_calls=[
                ScriptedToolCall(call.name, _arguments(call.arguments), call.id) for call in response.tool_calls
            ],
            done_reason=response.done_reason or "stop",
            prompt_tokens=response.usage.prompt_tokens,
            completion_tokens=response.usage.completion_tokens,
        )
        for response in trace.responses
    ]


@contextmanager
def cassette(*recorded: Trace | str | Path) -> Iterator[ScriptedServer]:
    """Serve recorded calls (traces, or trace JSON files such as `trace.to_json()` wrote) in order from
    a scripted server on a free port; alloy_nb's host points at it inside the block."""
    traces = [_trace(item) for item in recorded]
    models = dict.fromkeys([*DEFAULT_MODELS, *(model_name(trace.model) for trace in traces)])
    engine = ScriptedEngine(tuple(models))
    engine.script(*(turn for trace in traces for turn in to_script(trace)))
    with scripted_server(engine=engine) as server:
        yield server


def _trace(item: Trace | str | Path) -> Trace:
    if isinstance(item, Trace):
        return item
    return Trace.from_json(Path(item).read_text(encoding="utf-8"))


def _arguments(arguments: Any) -> dict[str, Any] | str:
    return arguments if isinstance(arguments, (dict, str)) else str(arguments)
