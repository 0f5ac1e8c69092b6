"""`MemorySlidingWindow`: the sliding window counter in process memory, bastion's own table."""

from __future__ import annotations

import asyncio
import contextlib
import time
from math import floor

__all__ = ["MemorySlidingWindow"]


class MemorySlidingWindow:
    """Sliding-window-counter budgets in one dict: one entry per key.

    The arithmetic is `limits`' own `SlidingWindowCounterRateLimiter` (the
    previous window's count weighted by the share of it still inside the
    window, plus the current count); a contract test checks both agree hit for
    hit. It is bastion's own table rather than `limits`' memory storage because
    the stock storage starts a sweep task on every counted hit and walks every
    key each time, which costs the edge more than the rest of it together
    (docs/rate-limiting.md has the figures). Nothing is awaited between a read and its
    write, so on one event loop every hit is atomic without locks.

    One reaper task sweeps ended windows every `sweep_interval` seconds while
    any key is held and ends when none is; `aclose` stops it.

    Args:
        sweep_interval: Seconds between two sweeps of ended windows (above 0).

    Raises:
        ValueError: The interval is not above 0.
    """

    def __init__(self, sweep_interval: float = 1.0) -> None:
        """Create an empty table."""
        if not sweep_interval > 0:
            raise ValueError("sweep_interval must be above 0 seconds")
        self.sweep_interval = sweep_interval
        # key -> (window index, current count, previous count, window seconds)
        self.windows: dict[str, tuple[int, int, int, int]] = {}
        self.reaper: asyncio.Task[None] | None = None

    async def hit(
        self, key: str, limit: int, expiry: int, cost: int, consume: bool
    ) -> tuple[bool, int, float]:
        """Count (or, unless `consume`, test) `cost` hits on `key`'s window.

        Returns:
            `(allowed, remaining, reset_after)`: whether the hits fit (and were
            counted), the budget left and the seconds until capacity frees up.
        """
        # `time.time` looked up at each call, as `limits` stamps its entries: a test
        # that moves the clock (patching `time.time`) moves both alike.
        now = time.time()
        index = int(now / expiry)
        window = self.windows.get(key)
        if window is None:
            previous = current = 0
        else:
            stored, current, previous, _ = window
            if stored != index:
                # The stored current window became the previous one, or both ended.
                previous, current = (current if stored == index - 1 else 0), 0
        previous_ttl = (1 - (((now - expiry) / expiry) % 1)) * expiry if previous else 0.0
        weighted = previous * previous_ttl / expiry + current
        allowed = cost <= limit and floor(weighted) + cost <= limit
        if allowed and consume:
            current += cost
            weighted += cost
            self.windows[key] = (index, current, previous, expiry)
            if self.reaper is None:
                self.reaper = asyncio.create_task(self._reap())
        remaining = limit - floor(weighted)
        # Capacity frees up when the current window ends or when the previous
        # window's weight drops by one hit, whichever comes first.
        reset_after = ((1 - ((now / expiry) % 1)) * expiry + expiry) % expiry if current else 0.0
        if previous:
            drop = previous_ttl % (expiry / previous)
            if not current or drop < reset_after:
                reset_after = drop
        return allowed, max(0, remaining), reset_after

    async def clear(self, key: str) -> None:
        """Forget the window of `key`."""
        self.windows.pop(key, None)

    async def aclose(self) -> None:
        """Stop the reaper, if it runs."""
        reaper, self.reaper = self.reaper, None
        if reaper is not None and not reaper.done():
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper

    async def _reap(self) -> None:
        """Sweep every `sweep_interval` while anything is held; end when nothing is."""
        try:
            while self.windows:
                await asyncio.sleep(self.sweep_interval)
                now = time.time()
                ended = [
                    key
                    for key, (index, _, _, expiry) in self.windows.items()
                    if index < int(now / expiry) - 1
                ]
                for key in ended:
                    del self.windows[key]
        finally:
            if self.reaper is asyncio.current_task():
                self.reaper = None
