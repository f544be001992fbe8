"""alloy_nb against alloy-ai (PyPI `alloy-ai` 0.3.1, the library whose API alloy_nb shares), per call,
both strategies, on the scripted server with zero think time: a text `ask`, a typed command (a
dataclass, and a pydantic model) and a command with one tool round trip, written once for both.

alloy-ai pins openai<2 and ollama<0.6, so both libraries run in .venv-alloy-ai (`make bench` builds
it) on the same SDKs, in one worker process (bench/alloy_ai_worker.py) that checks both return equal
values and then times them interleaved. The server listens on port 11434 because alloy-ai's openai_chat
path always connects to http://localhost:11434/v1. A case alloy-ai cannot do is timed for alloy_nb
alone and its error is noted. Goal: median ratio <= 1.0 per case (alloy_nb no slower); the µs per
call alloy_nb adds or saves are reported.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

from bench.report import Row, ratio_row
from bench.servers import serving
from bench.timing import Stats

GOAL = 1.0
PORT = 11434
REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv-alloy-ai"
SDK = {"native": "ollama", "openai_chat": "openai"}


def _port_taken(port: int) -> bool:
    """Something listens on `port` at 127.0.0.1 or at an address `localhost` names. (A connection attempt,
    not a bind: a bind without SO_REUSEADDR also fails while the last run's connections sit in TIME_WAIT.)"""
    addresses = {(socket.AF_INET, ("127.0.0.1", port))}
    named = socket.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)
    addresses |= {(family, address) for family, _, _, _, address in named}
    for family, address in addresses:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(address) == 0:
                return True
    return False


def _venv_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        raise RuntimeError(
            f"{VENV} does not exist: run `make bench`, which builds it (alloy-ai and alloy_nb on alloy-ai's "
            "SDK versions), or `python3 -m venv .venv-alloy-ai && .venv-alloy-ai/bin/pip install -e . "
            "-r bench/requirements-alloy-ai.txt`."
        )
    return python


def _worker(python: Path, url: str, rounds: int, loops: int, warmup: int) -> dict[str, Any]:
    # no ALLOY_* setting reaches either library, except where alloy_nb logs (the run's scratch log)
    env = {name: value for name, value in os.environ.items() if not name.startswith("ALLOY_") or name == "ALLOY_LOG_DB"}
    env["OLLAMA_HOST"] = url
    command = [
        str(python),
        "-m",
        "bench.alloy_ai_worker",
        "--rounds",
        str(rounds),
        "--loops",
        str(loops),
        "--warmup",
        str(warmup),
    ]
    done = subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"the alloy-ai worker ({' '.join(command[1:])}) exited with code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(result: dict[str, Any], packages: dict[str, str]) -> Row:
    case = f"{result['api']}: {result['label']}"
    sdk = SDK[result["api"]]
    if result["alloy-ai"] is None:  # alloy-ai raised: alloy_nb alone, with alloy-ai's error
        error = " ".join(result["alloy_ai_error"].split()).replace("|", "/")
        row = Row(
            "alloy-ai", case, "µs/call", Stats.of(result["alloy_nb"]).scaled(1e6), "alloy-ai", goal=f"ratio ≤ {GOAL}"
        )
        row.notes["not comparable, alloy-ai raised"] = error[:160]
    else:
        row = ratio_row(
            "alloy-ai",
            case,
            "µs/call",
            result["alloy_nb"],
            result["alloy-ai"],
            "alloy-ai",
            scale=1e6,
            goal=f"ratio ≤ {GOAL}",
            limit=GOAL,
        )
        added = row.ours.median - row.reference.median  # type: ignore[union-attr]
        row.notes["added µs/call" if added >= 0 else "saved µs/call"] = abs(added)
        ours, theirs = result["per_call"]["alloy_nb"], result["per_call"]["alloy-ai"]
        row.notes["requests/call"] = f"{ours['requests']} vs {theirs['requests']}"
        if ours["clients"] or theirs["clients"]:
            row.notes["new HTTP clients/call"] = f"{ours['clients']} vs {theirs['clients']}"
    row.notes["SDK"] = f"{sdk} {packages[sdk]}"
    return row


def run(quick: bool = False) -> list[Row]:
    rounds, loops = (3, 5) if quick else (20, 20)
    python = _venv_python()
    if _port_taken(PORT):
        raise RuntimeError(
            f"port {PORT} is in use (is Ollama running?): this benchmark serves the scripted model there, because "
            f"alloy-ai's openai_chat path always connects to http://localhost:{PORT}/v1. Stop that server and rerun."
        )
    with serving("scripted", port=PORT) as server:
        measured = _worker(python, server.url, rounds, loops, warmup=2)
    return [_row(result, measured["packages"]) for result in measured["results"]]
