"""The Binder path: a fresh venv set up by binder/install.sh, launched through binder/start, runs notebook 01."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_binder_install_and_start_run_the_quickstart(tmp_path: Path) -> None:
    env_dir = tmp_path / "binder-env"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    environ = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(env_dir)}
    environ.pop("OLLAMA_HOST", None)
    subprocess.run(["bash", str(ROOT / "binder" / "install.sh")], env=environ, check=True, timeout=1200)
    every_notebook_import = "import distributed, opentelemetry.sdk.trace, opentelemetry.exporter.otlp.proto.http"
    subprocess.run([bin_dir / "python", "-c", every_notebook_import], env=environ, check=True, timeout=120)
    # what Binder's base image brings: a kernel and something that executes notebooks
    subprocess.run(
        [bin_dir / "python", "-m", "pip", "install", "--quiet", "nbclient", "ipykernel"],
        env=environ,
        check=True,
        timeout=600,
    )
    port = _free_port()
    environ["ALLOY_PORT"] = str(port)
    run = subprocess.run(
        [
            str(ROOT / "binder" / "start"),
            str(bin_dir / "python"),
            "scripts/run_notebook.py",
            "notebooks/01_quickstart.ipynb",
        ],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "notebooks/01_quickstart.ipynb: executed in" in run.stdout
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/ps", timeout=5) as reply:
            loaded = [m["name"] for m in json.load(reply)["models"]]
        assert loaded == ["smollm2:135m"], "the notebook did not use the server binder/start launched"
    finally:
        subprocess.run(["pkill", "-f", f"alloy-nb serve --port {port}"], check=False)
