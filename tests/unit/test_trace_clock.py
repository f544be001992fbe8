"""A trace's start time reads as `datetime.isoformat` writes it, and is the time now."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from alloy_nb._trace import Trace


def test_started_at_is_iso_8601_utc_with_milliseconds_and_now() -> None:
    for _ in range(3):  # across whole seconds too: the date and second are formatted once per second
        before = datetime.now(timezone.utc)
        started = Trace(model="ollama:m", strategy="native", host="h").started_at
        after = datetime.now(timezone.utc)
        moment = datetime.fromisoformat(started)
        assert started == moment.isoformat(timespec="milliseconds")
        assert before - timedelta(milliseconds=1) <= moment <= after
        time.sleep(0.6)
