"""Every kind of streamed `%%alloy` cell in a real kernel, on each strategy: tools (`-t`), typed (`-o`),
both together and `--chat`. One notebook per strategy runs them all against the scripted server through
nbclient; each test reads what the kernel sent for one cell: a `display_data` with the status line, the
`update_display_data` messages that stream the reply into it, the output it leaves once updated in
place, and the requests the server got while it ran."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from streamed_steps import check_tool_steps_streamed
from wire_shapes import conversation, message, tool_result_texts, wire_path

import alloy_nb._config
from alloy_nb._choices import STRATEGIES
from alloy_nb.server import ChatRequest
from alloy_nb.testing import ScriptedServer, ScriptedToolCall as Call, ScriptedTurn as Reply

SETUP = """%load_ext alloy_nb
import alloy_nb
from pydantic import BaseModel

alloy_nb.configure(host={url!r}, api={api!r})


@alloy_nb.tool
def add(a: int, b: int) -> int:
    '''Add two integers.'''
    return a + b


class City(BaseModel):
    name: str
    country: str"""  # the notebook's own tool and type, defined in `__main__` as a user defines them

PROBE = "print(repr(_alloy), _alloy_trace.stream, [e.result for e in _alloy_trace.tool_events], _alloy_trace.strategy)"
TOOLS, TYPED, BOTH, CHAT, CHAT_AGAIN = (
    "%%alloy -t add\nWhat is 2 + 3?",
    "%%alloy -o City\nThe capital of France?",
    "%%alloy -o City -t add\nThe capital of France?",
    "%%alloy --chat\nHi!",
    "%%alloy --chat\nAnd again?",
)
SOURCES = [SETUP, TOOLS, PROBE, TYPED, PROBE, BOTH, PROBE, CHAT, CHAT_AGAIN, PROBE]

JSON = ['{"name": ', '"Paris", ', '"country": ', '"Fr', 'ance"}']
PARTIAL = '{\n  "name": "Paris",\n  "country": "Fr"\n}'  # the value so far once '"Fr' has come
CITY = "City(name='Paris', country='France')"
SCRIPT = (
    Reply(chunks=["Let ", "me ", "add."], tool_calls=[Call("add", {"a": 2, "b": 3})]),  # TOOLS
    Reply(chunks=["The ", "sum ", "is ", "5."], chunk_delay=0.1),
    Reply(chunks=JSON, chunk_delay=0.1),  # TYPED
    Reply(tool_calls=[Call("add", {"a": 2, "b": 3})]),  # BOTH
    Reply(chunks=JSON, chunk_delay=0.1),
    Reply(chunks=["Hello ", "there."], chunk_delay=0.1),  # CHAT
    Reply(chunks=["Again."], chunk_delay=0.1),  # CHAT_AGAIN
)


@dataclass
class Cell:
    """What one cell of the notebook showed and sent."""

    outputs: list[Any]  # as the front end keeps them: each display updated in place
    displays: list[dict[str, Any]] = field(default_factory=list)  # display_data / update_display_data, in order
    requests: list[ChatRequest] = field(default_factory=list)

    def streamed(self, api: str) -> list[dict[str, Any]]:
        """The data of each update the reply streamed into its status line's display, checking that the
        cell opened with that status line (the model, and the strategy it calls) and sent nothing else
        to that display."""
        first, *rest = self.displays
        assert first["msg_type"] == "display_data" and set(first["data"]) == {"text/plain"}, "a status line first"
        status = first["data"]["text/plain"]  # "calling smollm2:135m via native…", or "loading" it first
        assert "smollm2:135m" in status and f" via {api}" in status, status
        updates = [shown for shown in rest if shown["display_id"] == first["display_id"]]
        assert updates and all(shown["msg_type"] == "update_display_data" for shown in updates), (
            "the reply streams into the status line's own display"
        )
        return [shown["data"] for shown in updates]

    def final(self) -> dict[str, Any]:
        """The data of the one display the reply left, updated in place (only a `--chat` note follows it)."""
        reply, *notes = self.outputs
        assert reply.output_type == "display_data"
        assert all(note.data["text/plain"].startswith("--chat sent ") for note in notes)
        return reply.data

    def printed(self) -> str:
        [output] = self.outputs
        assert output.output_type == "stream"
        return output.text


class RecordingClient(NotebookClient):
    """nbclient as a front end runs it, keeping every display message of each cell as it came."""

    def __init__(self, notebook: Any, **kwargs: Any) -> None:
        super().__init__(notebook, **kwargs)
        self.displays: dict[int, list[dict[str, Any]]] = {}

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        if msg["msg_type"] in ("display_data", "update_display_data"):
            content = msg["content"]
            shown = {"msg_type": msg["msg_type"], "data": content["data"]}
            self.displays.setdefault(cell_index, []).append(
                {**shown, "display_id": (content.get("transient") or {}).get("display_id")}
            )
        return super().process_message(msg, cell, cell_index)


@dataclass
class Run:
    """The notebook as one strategy ran it."""

    api: str
    cells: list[Cell]

    def cell(self, source: str) -> Cell:
        return self.cells[SOURCES.index(source)]

    def probe(self, source: str) -> str:
        """What the cell after `source` printed of `_alloy` and `_alloy_trace`."""
        return self.cells[SOURCES.index(source) + 1].printed()


@pytest.fixture(scope="module", params=STRATEGIES)
def run(request: pytest.FixtureRequest, session_server: ScriptedServer) -> Iterator[Run]:
    """The notebook, run once per strategy in a fresh kernel against the scripted server."""
    api, server = request.param, session_server
    server.engine.reset()
    server.script(*SCRIPT)
    sent: dict[int, list[ChatRequest]] = {}

    def requests_of(cell: Any, cell_index: int, execute_reply: Any) -> None:
        sent[cell_index] = server.requests[sum(len(earlier) for earlier in sent.values()) :]

    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(SETUP.format(url=server.url, api=api)),
            *map(nbformat.v4.new_code_cell, SOURCES[1:]),
        ]
    )
    client = RecordingClient(notebook, timeout=60, kernel_name="python3", on_cell_executed=requests_of)
    with pytest.MonkeyPatch.context() as env:
        for var in alloy_nb._config.ENV_NAMES:  # the notebook's configure() alone says where and how to call
            env.delenv(var, raising=False)
        client.execute()
    assert server.engine.pending == 0, "every scripted turn was asked for"
    cells = [
        Cell(cell.outputs, client.displays.get(index, []), sent[index]) for index, cell in enumerate(notebook.cells)
    ]
    yield Run(api, cells)
    server.engine.reset()


def test_a_tool_cell_streams_its_turns_with_the_tool_steps_between(run: Run) -> None:
    cell, api = run.cell(TOOLS), run.api
    updates = cell.streamed(api)
    plain = [data["text/plain"] for data in updates]
    arguments, result = check_tool_steps_streamed(plain, api)
    steps = next(data["text/html"] for data in updates if data["text/plain"] == result)
    assert f"<i>tool add({html.escape(arguments)}) running…</i>" in steps and "<i>tool add → 5</i>" in steps

    final = cell.final()
    assert final["text/plain"].startswith(f"The sum is 5.\n\n— smollm2:135m · {api}")
    assert final["text/html"].startswith('<p>The sum is 5.</p>\n<div class="alloy-footer">')
    assert "1 tool run" in final["text/plain"] and "1 tool run</sub>" in final["text/html"]
    assert run.probe(TOOLS) == f"'The sum is 5.' True ['5'] {api}\n"

    first, second = cell.requests
    assert {first.path, second.path} == {wire_path(api)}
    assert tool_result_texts(first.body, api) == [] and tool_result_texts(second.body, api) == ["5"]


def test_a_typed_cell_shows_its_value_filling_in_then_the_value(run: Run) -> None:
    cell, api = run.cell(TYPED), run.api
    updates = cell.streamed(api)
    plain = [data["text/plain"] for data in updates]
    assert '{"name": "Paris", ' in plain, "the JSON as it streams, before anything validates"
    assert PARTIAL in plain, "the value so far, as JSON, its last string still growing"
    growing = next(data["text/html"] for data in updates if data["text/plain"] == PARTIAL)
    assert growing == f"<pre><code>{html.escape(PARTIAL)}</code></pre>"

    final = cell.final()
    assert final["text/plain"].startswith(f"{CITY}\n\n— smollm2:135m · {api}"), "the value as typed cells show it"
    assert f"<pre>{html.escape(CITY)}</pre>" in final["text/html"], "the Python value, escaped"
    assert '<div class="alloy-footer">' in final["text/html"]
    assert '<span class="hl-s2">"France"</span>' in final["text/html"], "the value's JSON, coloured"
    assert run.probe(TYPED) == f"{CITY} True [] {api}\n"
    [request] = cell.requests
    assert request.path == wire_path(api)


def test_a_typed_cell_with_tools_streams_the_tool_steps_then_the_value(run: Run) -> None:
    cell, api = run.cell(BOTH), run.api
    plain = [data["text/plain"] for data in cell.streamed(api)]
    arguments = '{"a": 2, "b": 3}' if api == "native" else '{"a":2,"b":3}'
    steps = f"\n[tool add({arguments}) running…]\n\n[tool add → 5]\n"
    assert steps + PARTIAL in plain, "the tool steps, then the value so far"

    final = cell.final()
    assert final["text/plain"].startswith(f"{CITY}\n\n— smollm2:135m · {api}") and "1 tool run" in final["text/plain"]
    assert f"<pre>{html.escape(CITY)}</pre>" in final["text/html"] and "1 tool run</sub>" in final["text/html"]
    assert run.probe(BOTH) == f"{CITY} True ['5'] {api}\n"
    first, second = cell.requests
    assert tool_result_texts(first.body, api) == [] and tool_result_texts(second.body, api) == ["5"]


def test_chat_cells_stream_and_the_second_sends_the_first_exchange(run: Run) -> None:
    chat, again, api = run.cell(CHAT), run.cell(CHAT_AGAIN), run.api
    assert "Hello " in [data["text/plain"] for data in chat.streamed(api)], "the first piece before the whole reply"
    assert chat.final()["text/plain"].startswith(f"Hello there.\n\n— smollm2:135m · {api}")
    assert "Again." in [data["text/plain"] for data in again.streamed(api)], "the reply before its footer"
    assert again.final()["text/html"].startswith('<p>Again.</p>\n<div class="alloy-footer">')
    assert chat.outputs[1].data["text/plain"].startswith("--chat sent no earlier exchange")
    note = again.outputs[1].data["text/plain"]
    assert note.startswith("--chat sent 1 earlier exchange") and note.endswith("you:   Hi!\n  model: Hello there.")
    assert run.probe(CHAT_AGAIN) == f"'Again.' True [] {api}\n"

    [first], [second] = chat.requests, again.requests
    hi, hello = message(api, "user", "Hi!"), message(api, "assistant", "Hello there.")
    assert conversation(first.body, api) == [hi]
    assert conversation(second.body, api) == [hi, hello, message(api, "user", "And again?")]
