"""GGUF files are checked when the server starts: a file llama.cpp cannot read stops it with an error
naming the file, instead of failing every later listing and chat."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from serve_process import serve_command

from alloy_nb.server.llama_engine import LlamaCppEngine


@pytest.fixture
def not_gguf(tmp_path: Path) -> Path:
    path = tmp_path / "notes.gguf"
    path.write_text("these are my notes, not a model\n")
    return path


@pytest.fixture
def truncated(tmp_path: Path, smollm2: Path) -> Path:
    """The first 64 KB of a real GGUF file: the right magic number, then nothing."""
    path = tmp_path / "cut.gguf"
    with smollm2.open("rb") as source:
        path.write_bytes(source.read(64 * 1024))
    return path


def test_a_file_that_is_not_gguf_is_refused_at_start_naming_it(smollm2: Path, not_gguf: Path) -> None:
    with pytest.raises(ValueError, match="is not a GGUF file") as refused:
        LlamaCppEngine({"good": smollm2, "notes": not_gguf})
    assert str(not_gguf) in str(refused.value) and "'notes'" in str(refused.value)


def test_a_truncated_gguf_is_refused_at_start_naming_it(smollm2: Path, truncated: Path) -> None:
    with pytest.raises(ValueError, match=r"llama\.cpp cannot read") as refused:
        LlamaCppEngine({"good": smollm2, "cut": truncated})
    assert str(truncated) in str(refused.value)


def test_serve_exits_non_zero_naming_the_bad_file(not_gguf: Path) -> None:
    _, command = serve_command("--engine", "llama", "--model", f"notes={not_gguf}")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("alloy-nb serve started with a file that is not a model")
    assert done.returncode == 2
    assert f"alloy-nb: cannot serve 'notes': {not_gguf} is not a GGUF file" in done.stderr
    assert "Traceback" not in done.stderr
