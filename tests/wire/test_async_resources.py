"""HTTP resources: `asyncio.run(ask.async_(...))` in a loop keeps no socket or event loop alive (a
128-file limit), and a script that ends leaves no socket open for the garbage collector."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import asyncio, os, resource, sys
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))
    from alloy_nb import ask
    from alloy_nb._choices import STRATEGIES
    before = len(os.listdir("/proc/self/fd"))
    for number in range(500):
        api = STRATEGIES[number % len(STRATEGIES)]
        assert asyncio.run(ask.async_(f"call {number}", api=api)) == f"You said: call {number}"
    print(before, len(os.listdir("/proc/self/fd")))
""")


def _child_env(server) -> dict[str, str]:
    """A bare environment for the child, with the session's scratch user data (so its call log is not the user's)."""
    return {"OLLAMA_HOST": server.url, "PATH": "/usr/bin:/bin", "XDG_DATA_HOME": os.environ["XDG_DATA_HOME"]}


@pytest.mark.slow
def test_five_hundred_asyncio_runs_under_a_low_file_limit(server) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, env=_child_env(server)
    )
    assert done.returncode == 0, done.stderr[-2000:]
    before, after = map(int, done.stdout.split())
    assert after <= before + 4, f"{after - before} file descriptors left open after 500 calls"


EXIT_SCRIPT = textwrap.dedent("""
    from alloy_nb import ask
    from alloy_nb._choices import STRATEGIES
    from alloy_nb._host import Host
    for api in STRATEGIES:
        assert ask("hi", api=api, log=False) == "You said: hi"
    assert Host().answers()
    print("done")
""")


def test_a_script_that_ends_after_sync_calls_leaves_no_socket_for_the_collector(server) -> None:
    """The kept clients (every strategy's, the host client's) are closed at exit: Python's
    development mode reports every socket the garbage collector has to close."""
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", EXIT_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env=_child_env(server),
    )
    assert done.returncode == 0 and done.stdout.strip() == "done", done.stderr[-2000:]
    assert "ResourceWarning" not in done.stderr, done.stderr[-2000:]
