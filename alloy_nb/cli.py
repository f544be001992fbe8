"""The `alloy-nb` command: `alloy-nb serve` runs the embedded Ollama-compatible server, `alloy-nb logs`
shows the call log."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ._log.cli import add_logs_command
from .server.cli import add_serve_command


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `alloy-nb` command; returns the exit code."""
    args = parser().parse_args(argv)
    code: int = args.run(args)
    return code


def parser() -> argparse.ArgumentParser:
    """The command line: one sub-parser per command."""
    command_line = argparse.ArgumentParser(prog="alloy-nb", description="alloy_nb command line.")
    commands = command_line.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_serve_command(commands)
    add_logs_command(commands)
    return command_line
