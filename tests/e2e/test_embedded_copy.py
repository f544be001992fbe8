"""The embedded model's Q8_0 copy: written once to the cache, found again, and never required."""

from __future__ import annotations

from alloy_nb.server.embedded_model import bundled_smollm2, copy_path, served_smollm2
from alloy_nb.server.llama_engine import GGUFModel


def test_the_copy_is_written_once_as_q8_0_and_found_again(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    served = served_smollm2()
    assert served is not None and served.is_relative_to(tmp_path) and served == copy_path(bundled_smollm2())
    assert GGUFModel("copy", served).card().quantization_level == "Q8_0"
    written = served.stat().st_mtime_ns
    assert served_smollm2() == served and served.stat().st_mtime_ns == written
    assert [p.name for p in served.parent.iterdir()] == [served.name]  # no partial file left behind


def test_a_cache_that_cannot_be_written_serves_the_wheels_file(tmp_path, monkeypatch, capsys) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert served_smollm2() == bundled_smollm2()
    assert "serving SmolLM2-135M-Instruct.Q4_1.gguf as it is" in capsys.readouterr().err


def test_the_copy_is_named_by_the_source_name_and_size(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    source = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    source.write_bytes(b"x" * 10)
    assert copy_path(source) == tmp_path / "alloy_nb" / "models" / "SmolLM2-135M-Instruct.10.Q8_0.gguf"
