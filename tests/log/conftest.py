"""Call log tests: real SQLite files under tmp_path, traces built as the call loop builds them."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "logs" / "calls.db"
