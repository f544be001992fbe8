"""Model names as Ollama reads them; a leaf shared by the client's settings and the server (imports nothing)."""

from __future__ import annotations


def same_model(name: str, other: str) -> bool:
    """Whether two model names (without `ollama:`) are one model, as Ollama reads them: an untagged
    name means its `latest` tag, so `llama3.1` is what `/api/tags` lists as `llama3.1:latest`.

    >>> same_model("llama3.1", "llama3.1:latest"), same_model("hf.co/me/tiny", "hf.co/me/tiny:latest")
    (True, True)
    >>> same_model("llama3.1", "llama3.1:8b")
    False
    """
    return _tagged(name) == _tagged(other)


def _tagged(name: str) -> str:
    return name if ":" in name.rpartition("/")[2] else f"{name}:latest"
