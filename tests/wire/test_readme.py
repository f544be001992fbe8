"""The README's Python example runs as written against the scripted engine's demo model."""

from __future__ import annotations

import re
from pathlib import Path

import alloy_nb

README = Path(__file__).parents[2] / "README.md"


def test_readme_example_runs(server, capsys) -> None:
    [example] = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[:1]
    namespace: dict = {}
    exec(compile(example, str(README), "exec"), namespace)
    alloy_nb.reset_configuration()
    assert namespace["city"].name and namespace["value"] == 0  # demo model: schema-filled answers
    assert [e.name for e in namespace["trace"].tool_events] == ["add"]
    printed = capsys.readouterr().out
    assert "You said: Say hello." in printed and "⚙ add" in printed


def test_readme_testing_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    [example] = [block for block in blocks if "alloy_nb.testing" in block]
    alloy_nb.reset_configuration()
    namespace: dict = {}
    exec(compile(example, str(README), "exec"), namespace)
    assert namespace["server"].engine.pending == 2, "the two turns scripted last are still queued"
    assert alloy_nb._config.configured() == {}, "the host is restored after the block"
