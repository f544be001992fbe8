"""`map` in a real kernel: `%%alloy --map` with its progress widget, and Ctrl-C mid-batch then `resume()`."""

from __future__ import annotations

import collections
import json
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

from alloy_nb.testing import ScriptedEngine, ServerThread

sys.path.insert(0, str(Path(__file__).parents[1] / "batch"))
from batch_helpers import echo_after

MAP_CELLS = [
    "%load_ext alloy_nb\nimport os, alloy_nb\nalloy_nb.configure(host=os.environ['OLLAMA_HOST'])",
    "cities = ['Paris', 'Rome', 'Oslo']",
    "%%alloy --map cities --as answers\nWhat is {item} known for?",
    "print(answers.values)",
    "import pandas as pd\nframe = pd.DataFrame({'name': ['Ann', 'Bo'], 'age': [31, 42]})",
    "%%alloy --map frame\n{item.name} is {item.age}.",
    "print(_alloy.values)",
]


def test_alloy_map_runs_the_cell_per_item_with_a_progress_widget(server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in MAP_CELLS])
    NotebookClient(notebook, timeout=60, kernel_name="python3", store_widget_state=True).execute()

    mapped = notebook.cells[2].outputs
    mimes = [set(output.get("data", {})) for output in mapped]
    assert any("application/vnd.jupyter.widget-view+json" in m for m in mimes), mimes  # tqdm's widget
    table = next(o["data"]["text/html"] for o in mapped if "text/html" in o.get("data", {}))
    assert "3 ok · 0 failed" in table and "What is Oslo known for?" in table
    assert notebook.cells[3].outputs[0]["text"].strip() == repr(
        [f"You said: What is {city} known for?" for city in ("Paris", "Rome", "Oslo")]
    )
    assert notebook.cells[6].outputs[0]["text"].strip() == "['You said: Ann is 31.', 'You said: Bo is 42.']"
    state = notebook.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    bars = [m["state"] for m in state.values() if m["model_name"] == "FloatProgressModel"]
    assert [(bar["value"], bar["max"]) for bar in bars] == [(3, 3), (2, 2)], bars


def _run(client, code: str) -> str:
    printed: list[str] = []

    def keep(message: dict) -> None:
        if message["msg_type"] == "stream" and message["content"]["name"] == "stdout":
            printed.append(message["content"]["text"])

    reply = client.execute_interactive(code, timeout=120, output_hook=keep)
    assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(printed)


def test_ctrl_c_mid_batch_keeps_what_finished_and_resume_runs_only_the_rest() -> None:
    engine = ScriptedEngine(responder=echo_after(lambda _: 0.1), parallel=2)
    with ServerThread(engine) as server:
        manager, client = start_new_kernel(kernel_name="python3")
        try:
            _run(client, f"import alloy_nb\nfrom alloy_nb import ask\nalloy_nb.configure(host={server.url!r})")
            message_id = client.execute("result = ask.map([f'item {i}' for i in range(40)], concurrency=2)")
            deadline = time.monotonic() + 30
            while len(engine.requests) < 8 and time.monotonic() < deadline:
                time.sleep(0.02)
            manager.interrupt_kernel()
            reply = client.get_shell_msg(timeout=60)
            assert reply["parent_header"]["msg_id"] == message_id and reply["content"]["status"] == "ok"
            state = json.loads(
                _run(
                    client,
                    "import json\nprint(json.dumps([len(result.items), len(result.pending), result.interrupted]))",
                )
            )
            finished, pending, interrupted = state
            assert interrupted and finished + pending == 40 and 0 < finished < 40, state
            sent_before = len(engine.requests)
            assert sent_before == finished  # the requests in flight were let finish, none dropped
            assert _run(client, "result.resume()\nprint(result.done, len(result.ok), result.values[-1])").split() == [
                "True",
                "40",
                "echo:",
                "item",
                "39",
            ]
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    sent = collections.Counter(str(r.body["messages"][-1]["content"]) for r in engine.requests)
    assert sorted(sent) == sorted(f"item {i}" for i in range(40)) and set(sent.values()) == {1}  # none twice, none lost
