"""`python -m alloy_nb.server serve ...`: the server's command line without the rest of alloy_nb."""

from __future__ import annotations

import argparse
import sys

from alloy_nb.server.cli import add_serve_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alloy_nb.server")
    add_serve_command(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
