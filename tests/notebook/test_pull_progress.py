"""`pull_with_progress` against the scripted server, in-process, without a kernel."""

from __future__ import annotations

import socket
import sys
import time
from typing import Any

import ipywidgets
import ollama
import pytest

from alloy_nb._config import current
from alloy_nb._notebook.pull import _TextView, _WidgetView, pull_with_progress
from alloy_nb.errors import OllamaUnavailable, ServerError


def _listed(url: str) -> set[str]:
    return {model.model or "" for model in ollama.Client(host=url).list().models}


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What `IPython.display.display` was given."""
    displayed: list[Any] = []
    monkeypatch.setattr("IPython.display.display", lambda *objs: displayed.extend(objs))
    return displayed


def test_pull_shows_a_progress_bar_and_reports_success(server, shown: list[Any], capsys) -> None:
    pull_with_progress(current(host=server.url), "newmodel:1b")
    assert capsys.readouterr().out.splitlines()[-1] == "Pulled newmodel:1b."
    assert "newmodel:1b" in _listed(server.url)
    [box] = shown
    label, bar = box.children
    assert isinstance(bar, ipywidgets.IntProgress) and bar.value == bar.max > 1
    assert label.value == "newmodel:1b: success"
    assert box.comm is not None, "a finished pull keeps its bar"


def test_widget_redraws_are_throttled(server, monkeypatch: pytest.MonkeyPatch) -> None:
    redraws: list[str] = []

    def display(box: Any) -> None:
        box.children[0].observe(lambda change: redraws.append(change["new"]), names="value")

    monkeypatch.setattr("IPython.display.display", display)
    started = time.monotonic()
    pull_with_progress(current(host=server.url), "throttled:1b")
    elapsed = time.monotonic() - started
    assert redraws[-1] == "throttled:1b: success"
    assert len(redraws) <= elapsed / 0.1 + 2  # at most 10 a second, plus the first and the last


def test_the_status_label_is_escaped(server, shown: list[Any]) -> None:
    with pytest.raises(ServerError, match="invalid model name"):  # the embedded server refuses such names
        pull_with_progress(current(host=server.url), "<b>x</b>:1b")
    view = _WidgetView(ipywidgets, "<b>x</b>:1b")  # another server may still send markup in a status
    view.update("<img src=x onerror=alert(1)>", 0, 0)
    view.flush()
    assert view.label.value == "&lt;b&gt;x&lt;/b&gt;:1b: &lt;img src=x onerror=alert(1)&gt;"


def test_without_ipywidgets_status_lines_are_printed(server, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    pull_with_progress(current(host=server.url), "plain:1b")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "plain:1b: pulling manifest"
    assert lines[-3:] == ["plain:1b: writing manifest", "plain:1b: success", "Pulled plain:1b."]


def test_a_printed_status_shows_terminal_escapes(capsys) -> None:
    """Without ipywidgets the status goes to a terminal as it is printed: another server's status may
    carry escapes (a clipboard write, a screen clear)."""
    _TextView("m:1b").update("done\x1b]52;c;aGk=\x07\x1b[2J", 0, 0)
    assert capsys.readouterr().out == "m:1b: done␛]52;c;aGk=␇␛[2J\n"


def test_a_closed_port_is_ollama_unavailable(shown: list[Any]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        host = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(OllamaUnavailable, match=rf"No Ollama server at {host}\. Start `ollama serve`"):
        pull_with_progress(current(host=host), "qwen3:0.6b")


def test_a_failed_pull_is_a_server_error_naming_the_model(server, shown: list[Any]) -> None:
    with pytest.raises(ServerError, match=r"'nonexistent:x'.*pull model manifest: file does not exist"):
        pull_with_progress(current(host=server.url), "nonexistent:x")
    [box] = shown
    assert box.comm is None, "the bar is taken off the page: the error says what happened"


def test_the_pull_magic_displays_the_widget(server, shell, capsys) -> None:
    shell.run_line_magic("alloy", "pull ollama:magic:1b")
    assert capsys.readouterr().out.splitlines()[-1] == "Pulled magic:1b."
    assert any("application/vnd.jupyter.widget-view+json" in data for data in shell.display_pub.outputs)
    assert "magic:1b" in _listed(server.url)
