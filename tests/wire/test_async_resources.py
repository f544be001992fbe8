"""`asyncio.run(ask.async_(...))` in a loop keeps no socket or event loop alive (a 128-file limit)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import asyncio, os, resource, sys
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))
    from alloy_nb import ask
    before = len(os.listdir("/proc/self/fd"))
    for number in range(500):
        api = ("native", "openai_chat")[number % 2]
        assert asyncio.run(ask.async_(f"call {number}", api=api)) == f"You said: call {number}"
    print(before, len(os.listdir("/proc/self/fd")))
""")


def test_five_hundred_asyncio_runs_under_a_low_file_limit(server) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300,
                          env={"OLLAMA_HOST": server.url, "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    before, after = map(int, done.stdout.split())
    assert after <= before + 4, f"{after - before} file descriptors left open after 500 calls"
