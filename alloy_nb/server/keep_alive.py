"""``keep_alive``: how long a model stays loaded after a request, read as Ollama reads it, and the
models that are loaded by that measure (what ``/api/ps`` lists).

The embedded server keeps its model in memory either way; what `keep_alive` changes is what
``/api/ps`` reports, so a client that unloads a model (``keep_alive: 0``) sees it gone, as on Ollama.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from alloy_nb.server.engines import ModelCard
from alloy_nb.server.wire import BadRequest

DEFAULT = timedelta(minutes=5)
FOREVER = timedelta(days=365 * 290)  # Ollama's "forever" is the longest Go duration, about 292 years

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def keep_alive(value: Any) -> timedelta | None:
    """`value` as a duration: seconds as a number, or a Go duration such as ``"5m"`` or ``"1h30m"``;
    negative is forever, None is the default. Anything else is a 400.

    >>> keep_alive("1h30m"), keep_alive(90), keep_alive("0"), keep_alive(-1) == FOREVER, keep_alive(None)
    (datetime.timedelta(seconds=5400), datetime.timedelta(seconds=90), datetime.timedelta(0), True, None)
    """
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return FOREVER if value < 0 else timedelta(seconds=min(float(value), FOREVER.total_seconds()))
    if isinstance(value, str) and (seconds := _go_duration(value)) is not None:
        return FOREVER if seconds < 0 else timedelta(seconds=min(seconds, FOREVER.total_seconds()))
    raise BadRequest(
        f"invalid keep_alive {str(value)[:40]!r}: give seconds as a number or a duration such as "
        '"5m" or "1h30m" (0 unloads the model, a negative value keeps it loaded)'
    )


def _go_duration(text: str) -> float | None:
    """Seconds in a Go duration string (``"-1.5h"``, ``"300ms"``, ``"0"``), or None if it is not one."""
    sign = -1.0 if text.startswith("-") else 1.0
    body = text[1:] if text[:1] in ("+", "-") else text
    if body == "0":
        return 0.0
    parts = _PART.findall(body)
    if not body or "".join(number + unit for number, unit in parts) != body:
        return None
    return sign * sum(float(number) * _UNITS[unit] for number, unit in parts)


class LoadedModels:
    """When each model used lately is due to unload, by its requests' `keep_alive`."""

    def __init__(self) -> None:
        self._expiry: dict[str, datetime] = {}

    def used(self, name: str, keep: timedelta | None) -> None:
        """Model `name` answered a request asking to stay loaded for `keep` (None: the default)."""
        self._expiry[name] = datetime.now(timezone.utc) + (DEFAULT if keep is None else keep)

    def loaded(self, cards: list[ModelCard]) -> list[tuple[ModelCard, datetime]]:
        """The models of `cards` still within their keep-alive, with their expiry."""
        now = datetime.now(timezone.utc)
        return [(c, self._expiry[c.name]) for c in cards if self._expiry.get(c.name, now) > now]
