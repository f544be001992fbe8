"""The embedded server started from a notebook outlives kernel interrupts, is restarted when it died,
and still ends with the kernel: a real kernel, interrupted the way JupyterLab does (SIGINT to its group)."""

from __future__ import annotations

import os
import signal
import threading
import time

from jupyter_client.manager import start_new_kernel
from kernels import execute


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _server_pid(client) -> int:
    status, shown = execute(
        client, "print(get_ipython().magics_manager.registry['AlloyMagics'].local_server.process.pid)"
    )
    assert status == "ok", shown
    return int(shown.strip())


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_interrupts_restart_and_kernel_shutdown(monkeypatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        assert execute(client, "%load_ext alloy_nb")[0] == "ok"
        status, shown = execute(client, "%alloy serve --engine scripted")
        assert status == "ok" and "Embedded server running at" in shown, shown
        first = _server_pid(client)

        timer = threading.Timer(1.0, manager.interrupt_kernel)
        timer.start()
        status, shown = execute(client, "import time; time.sleep(30)")
        timer.join()
        assert status == "error" and "KeyboardInterrupt" in shown
        time.sleep(0.5)
        assert _alive(first), "a kernel interrupt must not reach the embedded server"
        status, shown = execute(client, "%%alloy --no-stream -f text\nStill there?")
        assert status == "ok" and "You said: Still there?" in shown, shown

        os.kill(first, signal.SIGKILL)  # the server dies behind the notebook's back
        assert _wait_gone(first, 5)
        status, shown = execute(client, "%alloy serve --engine scripted")
        assert status == "ok" and "has stopped; starting a new one" in shown, shown
        second = _server_pid(client)
        assert second != first
        status, shown = execute(client, "%%alloy --no-stream -f text\nBack?")
        assert status == "ok" and "You said: Back?" in shown, shown
        status, shown = execute(client, "%alloy serve --engine scripted")
        assert "already running" in shown
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert _wait_gone(second, 10), "the embedded server must end with the kernel that started it"


ESSAY = "Write a long essay about the history of Rome, with at least ten paragraphs."  # ~2,000 tokens, ~20 s


def _interrupted(manager, client, code: str, after: float) -> tuple[str, str]:
    timer = threading.Timer(after, manager.interrupt_kernel)
    timer.start()
    try:
        return execute(client, code, timeout=120)
    finally:
        timer.join()


def test_interrupting_calls_on_the_embedded_model_keeps_it_serving_and_a_restart_leaves_no_orphan(monkeypatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        assert execute(client, "%load_ext alloy_nb")[0] == "ok"
        status, shown = execute(client, "%alloy serve", timeout=120)  # the real embedded model
        assert status == "ok" and "Embedded server running at" in shown, shown
        server = _server_pid(client)

        status, shown = _interrupted(manager, client, "%%alloy --max-tokens 2000 --temperature 0\n" + ESSAY, 2.0)
        assert "Interrupted: the partial reply is kept in _alloy" in shown, shown
        status, shown = execute(client, "print(_alloy_trace.status, len(_alloy) > 0)")
        assert shown.split() == ["interrupted", "True"], shown
        status, shown = _interrupted(
            manager, client, "%%alloy --no-stream --max-tokens 2000 --temperature 0\n" + ESSAY, 2.0
        )
        assert "Interrupted: no reply" in shown, shown
        assert _alive(server), "interrupting a call must not reach the embedded server"
        status, shown = execute(client, "%%alloy --no-stream -f text --max-tokens 8\nSay hi.", timeout=120)
        assert status == "ok" and "smollm2:135m · native" in shown, shown

        manager.restart_kernel(now=True)
        assert _wait_gone(server, 15), "a restarted kernel leaves no embedded server behind"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
