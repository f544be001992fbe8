"""The model picker: two-way binding with `configure()`, host status, and saved widget state in a real kernel."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import nbformat
import pytest
from nbclient import NotebookClient

import alloy_nb
from alloy_nb._config import current
from alloy_nb._notebook.picker import ModelPicker, model_picker
from alloy_nb.testing import ScriptedEngine, ServerThread

SERVED = ["ollama:smollm2:135m", "ollama:llama3.1:8b", "ollama:gpt-oss:20b", "ollama:qwen3:0.6b", "ollama:gemma3:4b"]


@pytest.fixture
def picker(server, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelPicker]:
    for var in ("ALLOY_MODEL", "ALLOY_EXTRA_JSON", "OLLAMA_HOST"):
        monkeypatch.delenv(var, raising=False)
    alloy_nb.reset_configuration()
    alloy_nb.configure(host=server.url, model="ollama:smollm2:135m")
    shown = model_picker()
    yield shown
    shown.close()
    alloy_nb.reset_configuration()


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_model_dropdown_lists_the_host_models_with_sizes(picker: ModelPicker, server) -> None:
    assert [value for _, value in picker.model.options] == SERVED
    assert picker.model.label == "smollm2:135m · 81 MB"
    assert picker.host.value == server.url
    assert "at " + server.url in picker.status.value and "5 models" in picker.status.value
    assert picker.status.value.endswith("next call: <b>native</b>")


def test_choosing_a_model_configures_it_and_auto_routes_gpt_oss(picker: ModelPicker) -> None:
    picker.model.value = "ollama:gpt-oss:20b"
    assert current().model == "ollama:gpt-oss:20b"
    assert picker.strategy.value == "auto"
    assert "next call: <b>openai_chat</b>" in picker.status.value


def test_choosing_a_strategy_configures_it(picker: ModelPicker) -> None:
    picker.model.value = "ollama:gpt-oss:20b"
    picker.strategy.value = "native"
    assert alloy_nb._config.configured()["extra"]["ollama_api"] == "native"
    assert current().strategy == "native"
    assert "next call: <b>native</b>" in picker.status.value


def test_configure_in_code_updates_both_dropdowns(picker: ModelPicker) -> None:
    alloy_nb.configure(model="ollama:qwen3:0.6b", api="openai_chat")
    assert (picker.model.value, picker.strategy.value) == ("ollama:qwen3:0.6b", "openai_chat")
    assert "next call: <b>openai_chat</b>" in picker.status.value


def test_the_selected_model_shows_its_capabilities_and_context_length(picker: ModelPicker) -> None:
    assert ">completion</span>" in picker.capabilities.value and ">tools</span>" in picker.capabilities.value
    assert "context 8,192 tokens" in picker.capabilities.value
    picker.model.value = "ollama:gemma3:4b"
    assert ">vision</span>" in picker.capabilities.value and ">tools</span>" not in picker.capabilities.value


def test_think_offers_what_the_model_takes_and_configures_it(picker: ModelPicker) -> None:
    assert [label for label, _ in picker.think.options] == ["cannot think", "off"]
    picker.model.value = "ollama:gpt-oss:20b"
    assert [value for _, value in picker.think.options] == ["default", "low", "medium", "high"]
    assert picker.think.label == "model default (medium)"
    picker.think.value = "high"
    assert current().think == "high"
    picker.model.value = "ollama:qwen3:0.6b"
    assert [value for _, value in picker.think.options] == ["default", True, False, "high"]
    assert picker.think.label == "high (not offered by this model)"
    alloy_nb.configure(think=False)
    assert picker.think.value is False and current().think is False
    picker.think.value = "default"
    assert current().think is None


def test_a_model_the_host_does_not_list_stays_selected(picker: ModelPicker) -> None:
    alloy_nb.configure(model="ollama:mistral:7b")
    assert picker.model.value == "ollama:mistral:7b"
    assert picker.model.label == "mistral:7b (not listed by the host)"
    assert current().model == "ollama:mistral:7b"


def test_a_host_with_no_server_gives_a_readable_status(picker: ModelPicker) -> None:
    url = _closed_port_url()
    picker.host.value = url
    assert current().host == url
    assert picker.status.value.endswith(  # in the error colour
        f'<span class="av-error">No server at {url}: connection refused. Start ollama serve or run %alloy serve.'
        "</span></div>"
    )
    assert picker.model.value == "ollama:smollm2:135m"


def test_refresh_rereads_the_host(picker: ModelPicker, server) -> None:
    alloy_nb.configure(host=_closed_port_url())
    assert "No server at" in picker.status.value
    with alloy_nb.settings(host=server.url):  # a host change that sends no configure() event
        picker.refresh_button.click()
    assert "5 models" in picker.status.value


def test_strings_in_the_status_are_escaped(picker: ModelPicker) -> None:
    picker.host.value = "http://<script>alert(1)</script>:1"
    assert "<script>" not in picker.status.value
    assert "&lt;script&gt;" in picker.status.value


def test_text_repr_is_a_readable_summary(picker: ModelPicker, server) -> None:
    bundle = picker._repr_mimebundle_()
    assert bundle["text/plain"] == (
        f"ModelPicker: model=ollama:smollm2:135m strategy=native host={server.url} "
        "(widgets need Jupyter with ipywidgets)"
    )
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == picker.box.model_id


def test_close_unsubscribes_and_closes_the_widgets(picker: ModelPicker) -> None:
    picker.close()
    alloy_nb.configure(model="ollama:qwen3:0.6b", api="openai_chat")
    assert (picker.model.value, picker.strategy.value) == ("ollama:smollm2:135m", "auto")
    assert picker.box.comm is None
    assert set(picker._repr_mimebundle_()) == {"text/plain"}


KERNEL_CELLS = [
    "import os, alloy_nb\nfrom alloy_nb._notebook.picker import model_picker\n"
    "alloy_nb.configure(host=os.environ['OLLAMA_HOST'], model='ollama:smollm2:135m')",
    "picker = model_picker()\npicker",
    "picker.strategy.value = 'openai_chat'\nprint(alloy_nb._config.current().strategy)",
    "alloy_nb.configure(model='ollama:llama3.1:8b')\nprint(picker.model.value)",
]


def test_picker_in_a_real_kernel_saves_its_widget_state(server, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ALLOY_MODEL", "ALLOY_EXTRA_JSON"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in KERNEL_CELLS])
    NotebookClient(notebook, timeout=60, kernel_name="python3", store_widget_state=True).execute()

    shown = notebook.cells[1].outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in shown
    assert shown["text/plain"].startswith("ModelPicker: model=ollama:smollm2:135m strategy=native")
    assert notebook.cells[2].outputs[0]["text"] == "openai_chat\n"
    assert notebook.cells[3].outputs[0]["text"] == "ollama:llama3.1:8b\n"

    state = notebook.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    dropdowns = [m["state"] for m in state.values() if m["model_name"] == "DropdownModel"]
    chosen = sorted(d["_options_labels"][d["index"]] for d in dropdowns)
    assert len(dropdowns) == 3
    shown_html = " ".join(m["state"].get("value", "") for m in state.values() if m["model_name"] == "HTMLModel")
    assert ">completion</span>" in shown_html and "context 8,192 tokens" in shown_html
    assert chosen == ["cannot think", "llama3.1:8b · 4.8 GB", "openai_chat (/v1/chat/completions)"]


def test_an_untagged_model_is_the_hosts_latest_in_the_dropdown(monkeypatch: pytest.MonkeyPatch) -> None:
    """`ollama:llama3.1` is what the host lists as `llama3.1:latest`: chosen, never "not listed"."""
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    engine = ScriptedEngine(("llama3.1:latest", "qwen3:0.6b"))
    with ServerThread(engine) as host:
        alloy_nb.reset_configuration()
        alloy_nb.configure(host=host.url, model="ollama:llama3.1")
        shown = model_picker()
        try:
            assert [value for _, value in shown.model.options] == ["ollama:llama3.1", "ollama:qwen3:0.6b"]
            assert shown.model.value == "ollama:llama3.1"
            assert not any("not listed" in label for label, _ in shown.model.options)
        finally:
            shown.close()
            alloy_nb.reset_configuration()
