"""A real Jupyter kernel for benchmarks: start one, run code in it, collect what it printed and
when it sent each display update (kernel clock)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import start_new_kernel


@contextmanager
def kernel() -> Iterator[BlockingKernelClient]:
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def execute(client: BlockingKernelClient, code: str, timeout: float = 1200) -> tuple[str, list[float]]:
    """Run code in the kernel: what it printed on stdout, and when it sent each display update."""
    printed: list[str] = []
    updates: list[float] = []

    def keep(message: dict[str, Any]) -> None:
        if message["msg_type"] == "stream" and message["content"]["name"] == "stdout":
            printed.append(message["content"]["text"])
        elif message["msg_type"] == "update_display_data":
            updates.append(message["header"]["date"].timestamp())

    reply = client.execute_interactive(code, timeout=timeout, output_hook=keep)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"kernel error running {code!r}: {reply['content']}")
    return "".join(printed), updates
