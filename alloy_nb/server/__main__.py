"""``alloy-nb serve``: run the Ollama-compatible server in the foreground."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import sys
from collections.abc import Callable, Sequence

from alloy_nb.server.engines import Engine
from alloy_nb.server.running import bind, build_server
from alloy_nb.server.scripted import ScriptedEngine

ENGINES: dict[str, Callable[[], Engine]] = {"scripted": ScriptedEngine}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``alloy-nb`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alloy-nb", description="alloy_nb command line.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run an Ollama-compatible server",
        description="Serve Ollama's /api and OpenAI-compatible /v1 endpoints.",
    )
    default = " (default: %(default)s)"
    serve.add_argument("--host", default="127.0.0.1", help="address to bind" + default)
    serve.add_argument("--port", type=int, default=11434, help="port to listen on" + default)
    serve.add_argument(
        "--engine", choices=sorted(ENGINES), default="scripted", help="what answers" + default
    )
    serve.set_defaults(run=_serve)
    return parser


def _serve(args: argparse.Namespace) -> int:
    if not _is_loopback(args.host):
        print(
            f"alloy-nb: warning: listening on {args.host} exposes the server to the network; "
            "it has no authentication.",
            file=sys.stderr,
        )
    try:
        sock = bind(args.host, args.port)
    except OSError as error:
        print(f"alloy-nb: {_bind_problem(error, args.host, args.port)}", file=sys.stderr)
        return 2
    print(
        f"alloy-nb: serving the {args.engine} engine at http://{args.host}:{args.port} "
        "(Ctrl+C to stop)",
        file=sys.stderr,
    )
    try:
        build_server(ENGINES[args.engine]()).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl+C after shutting down gracefully
        print("alloy-nb: stopped", file=sys.stderr)
    return 0


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


if __name__ == "__main__":
    sys.exit(main())
