"""When a failed request or call runs again, and how long it waits first.

Two levels, as alloy-ai users expect plus what a flaky network needs:

- a *request* that hit a transient fault (a dropped connection, 502/503/504, a timeout) is sent
  again as it was, up to `transient_retries` more times, even when `retry` is 1;
- a whole *call* that failed runs again from its first message, up to `retry` attempts in all
  (alloy-ai's meaning), only for `retry_on` when that is set, and never for a bad setting, a 4xx
  answer or a missing model, which would fail the same way again.

Waits grow exponentially from `retry_backoff`, capped at `retry_backoff_max`, with jitter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from .._config import Config
from ..errors import AlloyError, ConfigurationError, ModelNotFound, ServerError

_MAX_DOUBLINGS = 60  # beyond this the cap applies anyway; keeps 2**n a float that exists


def backoff_delay(attempt: int, base: float, cap: float, fraction: float) -> float:
    """The wait after failed attempt `attempt` (from 1): `base * 2**(attempt-1)`, at most `cap`, of which
    half is fixed and half scaled by `fraction` in [0, 1) ("equal jitter": never zero, never in step).

    >>> [backoff_delay(n, 0.5, 30, 0.0) for n in (1, 2, 3)], backoff_delay(10, 0.5, 30, 0.999)
    ([0.25, 0.5, 1.0], 29.985)
    """
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, _MAX_DOUBLINGS))
    return round(ceiling / 2 + ceiling / 2 * fraction, 6)


def is_transient(error: BaseException) -> bool:
    """A fault worth sending the same request again for."""
    return isinstance(error, AlloyError) and error.transient


def is_permanent(error: BaseException) -> bool:
    """A failure another attempt would repeat: a bad setting, the server refusing the request, no such model."""
    if isinstance(error, (ConfigurationError, ModelNotFound)):
        return True
    return isinstance(error, ServerError) and error.status_code is not None and 400 <= error.status_code < 500


@dataclass(frozen=True)
class RetryPolicy:
    """The retry settings of one call."""

    attempts: int
    retry_on: type[BaseException] | None
    transient_retries: int
    backoff: float
    backoff_max: float

    @classmethod
    def of(cls, config: Config) -> RetryPolicy:
        """The policy of a config's settings (made once per distinct settings: every call asks)."""
        key = (config.retry, config.retry_on, config.transient_retries, config.retry_backoff, config.retry_backoff_max)
        policy = _policies.get(key)
        if policy is None:
            if len(_policies) >= 64:
                _policies.clear()
            policy = _policies[key] = cls(*key)
        return policy

    def request_wait(self, error: BaseException, retried: int) -> float | None:
        """Seconds to wait before sending a request again after `error` (already sent again `retried`
        times), or None to give up on it."""
        if not is_transient(error) or retried >= self.transient_retries:
            return None
        return self._delay(retried + 1)

    def call_wait(self, error: BaseException, attempt: int) -> float | None:
        """Seconds to wait before attempt `attempt + 1` of the whole call, or None to raise `error`."""
        if attempt >= self.attempts or not isinstance(error, Exception):  # Ctrl-C is never retried
            return None
        wanted = isinstance(error, self.retry_on) if self.retry_on is not None else not is_permanent(error)
        return self._delay(attempt) if wanted else None

    def _delay(self, attempt: int) -> float:
        return backoff_delay(attempt, self.backoff, self.backoff_max, random.random())


_policies: dict[tuple[Any, ...], RetryPolicy] = {}
