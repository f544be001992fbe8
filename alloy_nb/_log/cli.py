"""``alloy-nb logs``: the logged calls, newest first, as a table or as JSON lines; `--prune` deletes old ones.

Everything printed shows control and invisible characters as stand-ins (`visible`; JSON lines as JSON
escapes), so a logged reply cannot write the clipboard, clear the screen or hide part of a name.
"""

from __future__ import annotations

import argparse
import dataclasses
import sqlite3
import sys
from pathlib import Path
from typing import Any

from .._visible import visible, visible_json
from .logged import LoggedCall
from .session import configured_path
from .store import default_path, prune, search
from .table import text_table


def add_logs_command(commands: Any) -> None:
    """Add `logs` to a command line's subcommands (`argparse` sub-parsers)."""
    logs = commands.add_parser(
        "logs",
        help="show logged calls",
        description="Show the calls in the SQLite call log, newest first.",
    )
    default = " (default: %(default)s)"
    logs.add_argument("-q", "--query", help="words to find in the prompt or reply (`word*` matches a prefix)")
    logs.add_argument("-n", type=int, default=20, metavar="N", help="show at most N calls, 0 for all" + default)
    logs.add_argument("--model", help="only calls to this model (with or without `ollama:`)")
    logs.add_argument("--status", choices=("ok", "error", "interrupted", "running"), help="only calls that ended so")
    logs.add_argument("--since", metavar="DURATION", help="only calls from the last DURATION: 30m, 3h, 1d, 2w")
    logs.add_argument("--json", action="store_true", help="print one JSON object per call instead of a table")
    logs.add_argument(
        "--prune", metavar="DURATION", help="instead of listing, delete the calls older than DURATION: 30d, 2w"
    )
    logs.add_argument("--vacuum", action="store_true", help="with --prune, also shrink the file (rewrites it)")
    logs.add_argument(
        "--db", type=Path, metavar="PATH", help=f"the log's file (default: ALLOY_LOG_DB, else {default_path()})"
    )
    logs.set_defaults(run=_logs)


def _logs(args: argparse.Namespace) -> int:
    if args.vacuum and not args.prune:
        _problem("--vacuum goes with --prune, e.g. alloy-nb logs --prune 30d --vacuum")
        return 2
    try:
        db = args.db or configured_path()
        if args.prune:
            deleted = prune(args.prune, db, vacuum=args.vacuum)
            plural = "" if deleted == 1 else "s"
            print(visible(f"Deleted {deleted} logged call{plural} older than {args.prune} from {db}."))
            return 0
        calls = search(args.query, n=args.n, model=args.model, status=args.status, since=args.since, path=db)
    except ValueError as error:  # a bad --since or query, or an invalid ALLOY_* variable
        _problem(str(error))
        return 2
    except sqlite3.Error as error:
        _problem(f"cannot read the call log {db}: {error}. Check the path given with --db.")
        return 1
    if args.json:
        for call in calls:
            print(visible_json(_plain(call)))
    elif calls:
        print(text_table(calls))
    else:
        where = "" if db.exists() else " (the file does not exist yet)"
        print(visible(f"No logged calls match in {db}{where}."), file=sys.stderr)
    return 0


def _problem(message: str) -> None:
    """One line on stderr: what is wrong and what to do."""
    print(visible(f"alloy-nb: {' '.join(message.split())}"), file=sys.stderr)


def _plain(call: LoggedCall) -> dict[str, Any]:
    fields = dataclasses.asdict(call)
    fields["tools"] = list(call.tools)
    del fields["trace_json"]
    return fields
