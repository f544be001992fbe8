"""A trace's start time reads as `datetime.isoformat` writes it, and is the time now."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from alloy_nb._trace import Trace


def started_at() -> str:
    return Trace(model="ollama:m", strategy="native", host="h").started_at


def test_started_at_is_the_time_now_in_utc_with_milliseconds() -> None:
    before = datetime.now(timezone.utc)
    moment = datetime.fromisoformat(started_at())
    assert before - timedelta(milliseconds=1) <= moment <= datetime.now(timezone.utc)


@pytest.mark.parametrize(
    "moments",
    [
        (1_700_000_000.0, 1_700_000_000.0005, 1_700_000_000.999, 1_700_000_000.9999996, 1_700_000_001.25),
        (1_735_689_599.5, 1_735_689_600.0, 951_782_399.999, 951_782_400.001),  # a new year; 29 February 2000
    ],
)
def test_started_at_is_written_as_datetime_writes_it(monkeypatch: pytest.MonkeyPatch, moments: tuple[float]) -> None:
    for moment in moments:  # the date and second are kept between calls: a new second must replace them
        monkeypatch.setattr(time, "time", lambda moment=moment: moment)
        expected = datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="milliseconds")
        assert started_at() == expected, moment
