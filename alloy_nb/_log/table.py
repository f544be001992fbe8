"""Logged calls as rows of short cells: the table `alloy-nb logs` prints and notebooks show."""

from __future__ import annotations

from collections.abc import Sequence

from .._visible import visible
from .logged import LoggedCall

HEADERS = ("id", "time", "model", "status", "tokens", "prompt", "reply")
SHOWN_CHARS = 60


def cells(call: LoggedCall) -> tuple[str, ...]:
    """One call's cells, in HEADERS order; a failed call shows its error in place of the reply.

    The strings are plain text with control and invisible characters shown (see `visible`), not
    escaped for any markup."""
    tokens = f"{call.prompt_tokens or 0}+{call.completion_tokens or 0}"
    reply = call.error if call.error else call.reply
    time = call.time[:19].replace("T", " ")  # to the second, UTC
    return (
        *(visible(cell) for cell in (call.id, time, call.model, call.status)),
        tokens,
        short(call.prompt),
        short(reply),
    )


def text_table(calls: Sequence[LoggedCall]) -> str:
    """Aligned plain-text columns with a header line."""
    rows = [HEADERS, *(cells(call) for call in calls)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def short(text: str | None, limit: int = SHOWN_CHARS) -> str:
    """`text` on one line with its control and invisible characters shown, cut to `limit` characters.

    >>> short("line one\\nline two", 12), short("\\x1b[2Jcleared", 12)
    ('line one li…', '␛[2Jcleared')
    """
    flat = visible(" ".join((text or "").split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
