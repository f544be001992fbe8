"""The README's Python example runs as written against the scripted engine's demo model."""

from __future__ import annotations

import re
from pathlib import Path

import alloy_nb

README = Path(__file__).parents[2] / "README.md"


def test_readme_example_runs(server, capsys) -> None:
    [example] = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[:1]
    namespace: dict = {}
    exec(compile(example, str(README), "exec"), namespace)  # noqa: S102 - our own README
    alloy_nb.reset_configuration()
    assert namespace["city"].name and namespace["value"] == 0  # demo model: schema-filled answers
    assert [e.name for e in namespace["trace"].tool_events] == ["add"]
    printed = capsys.readouterr().out
    assert "You said: Say hello." in printed and "⚙ add" in printed
