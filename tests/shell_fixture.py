"""The `shell` fixture (a plugin of tests/conftest.py): a real IPython shell with the extension loaded,
pointed at the scripted server, for the notebook and fault-matrix tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell


class RecordingPublisher(DisplayPublisher):
    """IPython's display publisher, keeping what was published (and counting updates)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outputs: list[dict[str, Any]] = []
        self.updates = 0

    def publish(
        self,
        data: dict[str, Any],
        metadata: Any = None,
        source: Any = None,
        *,
        transient: Any = None,
        update: bool = False,
        **kwargs: Any,
    ) -> None:
        self.outputs.append(data)
        self.updates += int(update)


@pytest.fixture
def shell(alloy_at_server) -> Iterator[InteractiveShell]:
    """A real IPython shell with `%load_ext alloy_nb`, recording what it displays."""
    shell = InteractiveShell.instance()
    shell.display_pub = RecordingPublisher(shell=shell)
    shell.run_line_magic("load_ext", "alloy_nb")
    magics = shell.magics_manager.registry["AlloyMagics"]
    magics.chat_history.clear()
    magics.aliases = {}
    magics.default_model = None
    magics.max_history = 10
    yield shell
