"""Repeated, interleaved timing (pyperf-style): warm-up rounds, then timed rounds in which every
case runs once per round in a rotating order, so drift and noise hit all cases alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Stats:
    """Median and spread of repeated measurements (quartiles, extremes, count)."""

    median: float
    q1: float
    q3: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        if not values:
            raise ValueError("no measurements")
        ordered = sorted(values)
        if len(ordered) == 1:
            q1 = q3 = ordered[0]
        else:
            q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
        return cls(statistics.median(ordered), q1, q3, ordered[0], ordered[-1], len(ordered))

    @property
    def relative_spread(self) -> float:
        """The interquartile range as a fraction of the median."""
        return (self.q3 - self.q1) / self.median if self.median else 0.0

    def scaled(self, factor: float) -> Stats:
        """The same statistics in another unit (e.g. seconds -> microseconds)."""
        return Stats(
            self.median * factor, self.q1 * factor, self.q3 * factor, self.low * factor, self.high * factor, self.n
        )


def paired_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """Round-by-round ratios of two interleaved series (each pair measured back to back)."""
    return [a / b for a, b in zip(numerators, denominators, strict=True)]


def _schedule(names: Sequence[str], rounds: int, warmup: int) -> Iterator[tuple[str, bool]]:
    """(case, timed) in running order: every case once per round, the order rotating each round;
    the first `warmup` rounds are not timed."""
    for index in range(warmup + rounds):
        shift = index % len(names)
        for name in [*names[shift:], *names[:shift]]:
            yield name, index >= warmup


def interleaved(
    cases: Mapping[str, Callable[[], object]],
    *,
    rounds: int,
    loops: int,
    warmup: int = 1,
    after: Callable[[str], object] | None = None,
) -> dict[str, list[float]]:
    """Seconds per call of each case: `rounds` rounds of `loops` calls each, after `warmup` untimed rounds.
    `after(case)` runs untimed after each round (e.g. to finish what the case left to a background thread)."""
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for name, timed in _schedule(list(cases), rounds, warmup):
        started = time.perf_counter()
        for _ in range(loops):
            cases[name]()
        if timed:
            timings[name].append((time.perf_counter() - started) / loops)
        if after is not None:
            after(name)
    return timings


async def interleaved_async(
    cases: Mapping[str, Callable[[], Awaitable[object]]], *, rounds: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Seconds per awaited call of each coroutine function, interleaved like `interleaved`."""
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for name, timed in _schedule(list(cases), rounds, warmup):
        started = time.perf_counter()
        await cases[name]()
        if timed:
            timings[name].append(time.perf_counter() - started)
    return timings
