"""Ctrl-C (a real kernel interrupt) during a streamed %%alloy cell: partial text kept, kernel healthy."""

from __future__ import annotations

import threading

from jupyter_client.manager import start_new_kernel
from kernels import execute

from alloy_nb.testing import ScriptedTurn as Reply


def test_interrupt_mid_stream(server, monkeypatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    server.script(Reply(chunks=[f"w{i} " for i in range(200)], chunk_delay=0.05), Reply(text="still alive"))
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        assert execute(client, "%load_ext alloy_nb")[0] == "ok"
        timer = threading.Timer(1.5, manager.interrupt_kernel)
        timer.start()
        status, shown = execute(client, "%%alloy -f text\nTell a long story.")
        timer.join()
        assert status == "ok", shown
        assert "Interrupted: the partial reply is kept in _alloy" in shown
        status, shown = execute(client, "print(_alloy_trace.status, len(_alloy.split()))")
        state, words = shown.split()
        assert state == "interrupted" and 0 < int(words) < 200
        status, shown = execute(client, "%%alloy --no-stream -f text\nAre you there?\n")
        assert status == "ok" and "still alive" in shown
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
