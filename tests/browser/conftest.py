"""Real JupyterLab on a loopback port and headless Debian Chromium driven by Playwright.

Nothing here is skipped: a missing browser or package fails with the install step that fixes it
(`make install` installs the `browser` extra; `.ci/run` apt-installs Debian's chromium).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
LAB_START_TIMEOUT_S = 120.0

# Lab settings for a quiet, deterministic page: no news or update checks (no network), and every
# cell attached to the DOM (no windowing), so locators and screenshots see the whole notebook.
USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def require_browser_tools() -> None:
    """Fail (never skip) when a piece of the browser test is missing, naming the step that installs it."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} not found: `sudo apt-get install -y chromium` (.ci/run does this)")
    for module, package in (("playwright", "playwright"), ("jupyterlab", "jupyterlab")):
        try:
            __import__(module)
        except ImportError:
            missing.append(
                f"Python package {package!r} not installed: `pip install -e '.[browser]'` (make install does this)"
            )
    if missing:
        pytest.fail("The JupyterLab browser test needs:\n  " + "\n  ".join(missing), pytrace=False)


@dataclass
class Lab:
    """A running JupyterLab: its base URL, token, root directory and process."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen[bytes]
    log: Path
    seen_descendants: dict[int, str] = field(default_factory=dict)

    def api(self, method: str, path: str) -> Any:
        response = httpx.request(method, f"{self.url}{path}", params={"token": self.token}, timeout=30.0)
        response.raise_for_status()
        return response.json() if response.content else None

    def remember_descendants(self) -> None:
        """Note the kernel and every process it started (the embedded model server), to check teardown."""
        try:
            for child in psutil.Process(self.process.pid).children(recursive=True):
                self.seen_descendants.setdefault(child.pid, " ".join(child.cmdline())[:160])
        except psutil.Error:
            pass

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_settings(settings_dir: Path) -> None:
    for relative, values in USER_SETTINGS.items():
        target = settings_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))


@contextmanager
def running_lab(root: Path, scratch: Path, env_overrides: dict[str, str], app: str = "jupyterlab") -> Iterator[Lab]:
    """JupyterLab (or Notebook 7: `app="notebook"`) on 127.0.0.1:<free port> with a random token; kernels,
    the server and their children end in `finally`."""
    port, token = _free_port(), secrets.token_hex(24)
    settings_dir = scratch / "lab-user-settings"
    _write_settings(settings_dir)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(scratch / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(scratch / "jupyter-runtime"),
        "IPYTHONDIR": str(scratch / "ipython"),
        **env_overrides,
    }
    for name in ("ALLOY_MODEL", "ALLOY_EXTRA_JSON", "ALLOY_SYSTEM", "JUPYTER_TOKEN"):
        env.pop(name, None)
    command = [
        sys.executable,
        "-m",
        app,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        f"--LabApp.user_settings_dir={settings_dir}",
        f"--LabApp.workspaces_dir={scratch / 'lab-workspaces'}",
        "--ServerApp.terminals_enabled=False",
    ]
    if os.geteuid() == 0:  # containers and CI runners often run as root; Jupyter refuses that unless told
        command.append("--allow-root")
    log = scratch / "jupyterlab.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=root,
            start_new_session=True,
        )
    lab = Lab(url=f"http://127.0.0.1:{port}", token=token, root=root, process=process, log=log)
    try:
        _wait_for_lab(lab)
        yield lab
    finally:
        _stop_lab(lab)


def _wait_for_lab(lab: Lab) -> None:
    deadline = time.monotonic() + LAB_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {lab.process.returncode}:\n{lab.log_tail()}", pytrace=False)
        try:
            if httpx.get(f"{lab.url}/api/status", params={"token": lab.token}, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    pytest.fail(
        f"JupyterLab did not answer /api/status within {LAB_START_TIMEOUT_S:g}s:\n{lab.log_tail()}", pytrace=False
    )


def _stop_lab(lab: Lab) -> None:
    """Shut kernels down politely (their atexit stops the embedded server), then the lab, then any straggler."""
    lab.remember_descendants()
    if lab.process.poll() is None:
        try:
            for kernel in lab.api("GET", "/api/kernels"):
                lab.api("DELETE", f"/api/kernels/{kernel['id']}")
        except httpx.HTTPError:
            pass
        lab.process.send_signal(signal.SIGTERM)
        try:
            lab.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            lab.process.kill()
            lab.process.wait()
    leftovers = _wait_gone(lab.seen_descendants, timeout=15.0)
    for pid in leftovers:  # only processes this lab started: kill them so nothing outlives the test
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
    lab.leftovers = {pid: lab.seen_descendants[pid] for pid in leftovers}  # type: ignore[attr-defined]


def _wait_gone(pids: dict[int, str], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if _alive(pid)]
        if alive:
            time.sleep(0.2)
    return alive


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@contextmanager
def chromium_page(viewport: dict[str, int]) -> Iterator[Any]:
    """One page in headless Debian Chromium; the browser is closed in `finally`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=viewport)
            yield context.new_page()
        finally:
            browser.close()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _ports_in(commands: dict[int, str]) -> list[int]:
    ports = []
    for command in commands.values():
        parts = command.split()
        ports += [int(parts[i + 1]) for i, part in enumerate(parts[:-1]) if part == "--port" and parts[i + 1].isdigit()]
    return ports


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def artifacts_dir() -> Path:
    """test-artifacts/browser/ at the repo root (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def lab_root(tmp_path: Path) -> Path:
    require_browser_tools()
    root = tmp_path / "root"
    root.mkdir()
    return root


@pytest.fixture
def lab(lab_root: Path, tmp_path: Path) -> Iterator[Lab]:
    """JupyterLab over `lab_root`; with no Ollama at OLLAMA_HOST, the notebook starts the embedded server.

    Teardown fails the test if the kernel, the embedded server or anything else the lab started is
    still running or listening afterwards.
    """
    with running_lab(lab_root, tmp_path / "scratch", {"OLLAMA_HOST": "http://127.0.0.1:9"}) as running:
        yield running
    children = running.seen_descendants
    still_listening = [port for port in _ports_in(children) if _listening(port)]
    leftovers = getattr(running, "leftovers", {})
    print(
        f"\nteardown: JupyterLab and {len(children)} child process(es) ended "
        f"({', '.join(sorted({c.split()[2] if len(c.split()) > 2 else c for c in children.values()})) or 'none'}); "
        f"embedded server port(s) {_ports_in(children)} closed"
    )
    assert not leftovers, f"processes outlived JupyterLab (killed now): {leftovers}"
    assert not still_listening, f"still listening after teardown: {still_listening}"


@pytest.fixture
def notebook7(lab_root: Path, tmp_path: Path) -> Iterator[Lab]:
    """Notebook 7 over `lab_root`, with the same teardown checks as the `lab` fixture."""
    with running_lab(lab_root, tmp_path / "scratch", {"OLLAMA_HOST": "http://127.0.0.1:9"}, app="notebook") as running:
        yield running
    leftovers = getattr(running, "leftovers", {})
    assert not leftovers, f"processes outlived Notebook 7 (killed now): {leftovers}"


@pytest.fixture
def page(lab: Lab) -> Iterator[Any]:
    """A headless Chromium page (closed before the lab stops)."""
    with chromium_page({"width": 1280, "height": 2000}) as browser_page:
        yield browser_page
