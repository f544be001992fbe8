"""A batch's progress bar: `tqdm.auto` (a widget in notebooks, text elsewhere), off the hot path.

Finished items only bump counters; the bar is redrawn at most `REFRESH_S` apart, from whichever
thread owns it, so a 10,000-item batch costs the kernel a few hundred redraws, not 10,000.
"""

from __future__ import annotations

import time
from typing import Any

REFRESH_S = 0.2


class BatchProgress:
    """Done / failed counts, tokens per second and ETA for one batch."""

    def __init__(self, total: int, *, enabled: bool, already_done: int = 0, description: str = "map") -> None:
        self.total = total
        self.ok = 0
        self.failed = 0
        self.tokens = 0
        self._base = already_done
        self._shown = already_done
        self._started = time.monotonic()
        self._last_refresh = 0.0
        self._bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=already_done, desc=description, unit="item", dynamic_ncols=True)

    def item_done(self, *, ok: bool, tokens: int) -> None:
        """Count one finished item (O(1): no drawing)."""
        if ok:
            self.ok += 1
        else:
            self.failed += 1
        self.tokens += tokens

    def refresh(self, *, force: bool = False) -> None:
        """Redraw the bar if `REFRESH_S` has passed (or `force`)."""
        if self._bar is None:
            return
        now = time.monotonic()
        if not force and now - self._last_refresh < REFRESH_S:
            return
        self._last_refresh = now
        done = self._base + self.ok + self.failed
        rate = self.tokens / (now - self._started) if now > self._started else 0.0
        self._bar.set_postfix_str(f"{self.failed} failed · {rate:,.0f} tok/s", refresh=False)
        self._bar.update(done - self._shown)
        self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self.refresh(force=True)
            self._bar.close()
