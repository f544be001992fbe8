"""Notebook 8 run top to bottom in a real kernel on the embedded model, with a real Arize Phoenix as
its collector (`PHOENIX_COLLECTOR_ENDPOINT`, as a student sets it): the call it instruments is in
Phoenix under the call log's id, with its chat and tool spans under it, and the notebook shows the
spans read back from Phoenix next to the call log. tests/notebook/test_course.py runs the same
notebook without a Phoenix, as CI and a student without one do."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from phoenix_support import read_spans

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "08_call_log_and_replay.ipynb"
PROJECT = "alloy-nb-course"  # the project the notebook names in its spans' resource
READ_BACK = 'httpx.get(f"{phoenix}/v1/projects/{project}/spans"'  # the cell that reads Phoenix's spans


def code_cell(notebook: nbformat.NotebookNode, snippet: str) -> nbformat.NotebookNode:
    """The one code cell whose source contains `snippet`."""
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and snippet in c.source]
    return cell


def printed(notebook: nbformat.NotebookNode, snippet: str) -> str:
    """What that cell printed (it raised nothing)."""
    cell = code_cell(notebook, snippet)
    errors = [f"{o['ename']}: {o['evalue']}" for o in cell.outputs if o.output_type == "error"]
    assert not errors, errors
    return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")


def tree_name(line: str) -> str:
    """A printed span's indent and name (`call {model}`, `chat {model}`, `execute_tool {name}`)."""
    found = re.match(r"\s*\S+ \S+", line)
    assert found, line
    return found[0]


def markdown(notebook: nbformat.NotebookNode, snippet: str) -> str:
    """The Markdown that cell displayed."""
    cell = code_cell(notebook, snippet)
    return "".join(output.get("data", {}).get("text/markdown", "") for output in cell.outputs)


def test_notebook_8_shows_its_calls_in_phoenix_next_to_the_call_log(phoenix: str, monkeypatch, tmp_path) -> None:
    for var in ("ALLOY_MODEL", "ALLOY_EXTRA_JSON", "ALLOY_SYSTEM", "ALLOY_MAX_TOKENS", "ALLOY_MAX_TOOL_TURNS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")  # nothing there: the notebook starts its own server
    monkeypatch.setenv("PHOENIX_COLLECTOR_ENDPOINT", phoenix)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    nbformat.write(notebook, tmp_path / NOTEBOOK.name)  # as run, to read when a check fails

    here = printed(notebook, "otel.instrument(tracer_provider=provider)").splitlines()
    assert here[0] == "call smollm2:135m " and "  execute_tool add " in here, here
    beside_the_log = printed(notebook, "logged = alloy_nb.logs.search(n=1)[0]")
    assert "the same call: True" in beside_the_log, beside_the_log
    call_id = re.search(r"^call log  : (\S+) \|", beside_the_log, re.MULTILINE)
    assert call_id, beside_the_log

    (call,) = read_spans(phoenix, PROJECT, 1, attribute=f'alloy_nb.call.id:"{call_id[1]}"')
    trace_id = call["context"]["trace_id"]
    stored = read_spans(phoenix, PROJECT, len(here), trace_id=trace_id)
    assert call["parent_id"] is None and call["name"] == "call smollm2:135m"
    children = [span for span in stored if span["context"]["span_id"] != call["context"]["span_id"]]
    assert {span["parent_id"] for span in children} == {call["context"]["span_id"]}
    assert {(span["name"], span["span_kind"]) for span in children} == {
        ("chat smollm2:135m", "LLM"),
        ("execute_tool add", "TOOL"),
    }

    from_phoenix = printed(notebook, READ_BACK).splitlines()
    assert from_phoenix[0] == f"Phoenix has {len(here)} spans of trace {trace_id}:", from_phoenix
    assert [tree_name(line) for line in from_phoenix[1:]] == [tree_name(line) for line in here]
    assert "  execute_tool add TOOL" in from_phoenix and "  chat smollm2:135m LLM" in from_phoenix, from_phoenix
    assert f"({phoenix}/redirects/traces/{trace_id})" in markdown(notebook, READ_BACK)
