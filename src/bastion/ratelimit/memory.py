"""`MemoryRateLimitStorage`: `limits`' async memory storage, lean and with a throttled sweep."""

from __future__ import annotations

import asyncio
import math
import time

from limits.aio.storage import MemoryStorage

__all__ = ["MemoryRateLimitStorage"]


class MemoryRateLimitStorage(MemoryStorage):
    """`limits`' async memory storage with lean counters and a throttled expiry sweep.

    Measured with the event loop turning between requests, the stock storage
    starts a sweep task on every counted hit, and each sweep walks every key
    (handing moving-window lists to a worker thread): a sliding-window hit
    costs ~30 µs with one client and ~130 µs with 1,000. Here the sweep runs
    at most once per `sweep_interval`, and the counter operations used by the
    fixed-window and sliding-window-counter strategies run without locks or
    nested awaits: nothing is awaited between a read and its write, so on one
    event loop they are atomic anyway. Expired counters are ignored on read,
    so counting is unchanged; memory is reclaimed up to an interval later.
    The `limits` strategies run on it unchanged.

    Args:
        sweep_interval: Seconds between two sweeps of expired keys.
    """

    def __init__(self, sweep_interval: float = 1.0) -> None:
        """Create an empty storage."""
        super().__init__(wrap_exceptions=True)
        self.sweep_interval = sweep_interval
        self._next_sweep = 0.0

    def _sweep_soon(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.sweep_interval
        if self.timer is None or self.timer.done():
            sweep = self._MemoryStorage__expire_events  # type: ignore[attr-defined]  # the stock sweep
            self.timer = asyncio.create_task(sweep())

    async def _MemoryStorage__schedule_expiry(self) -> None:  # the stock hook (moving window)
        self._sweep_soon()

    def _count(self, key: str, now: float) -> int:
        if self.expirations.get(key, 0) <= now:
            self.storage.pop(key, None)
            self.expirations.pop(key, None)
            return 0
        return self.storage.get(key, 0)

    def _add(self, key: str, expiry: float, amount: int, now: float) -> int:
        self._sweep_soon()
        count = self._count(key, now) + amount
        self.storage[key] = count
        if count == amount:
            self.expirations[key] = now + expiry
        return count

    def _window(self, key: str, expiry: int, now: float) -> tuple[str, int, float, int, float]:
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        previous = self._count(previous_key, now)
        previous_ttl = 0.0 if previous == 0 else (1 - (((now - expiry) / expiry) % 1)) * expiry
        current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
        return current_key, previous, previous_ttl, self._count(current_key, now), current_ttl

    async def get(self, key: str) -> int:
        """The counter of `key` (0 once expired)."""
        return self._count(key, time.time())

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add `amount` to the counter of `key`, starting its expiry when new."""
        return self._add(key, expiry, amount, time.time())

    async def acquire_sliding_window_entry(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> bool:
        """Count `amount` hits in the sliding window of `key` if they fit under `limit`."""
        if amount > limit:
            return False
        now = time.time()
        current_key, previous, previous_ttl, current, _ = self._window(key, expiry, now)
        if math.floor(previous * previous_ttl / expiry + current) + amount > limit:
            return False
        self._add(current_key, 2 * expiry, amount, now)
        return True

    async def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        """`(previous count, previous ttl, current count, current ttl)` of `key`'s window."""
        _, previous, previous_ttl, current, current_ttl = self._window(key, expiry, time.time())
        return previous, previous_ttl, current, current_ttl

    def sliding_window_hit(
        self, key: str, limit: int, expiry: int, cost: int, *, consume: bool
    ) -> tuple[bool, int, float]:
        """One-call sliding-window-counter hit or test: `(allowed, remaining, reset_after)`.

        The same arithmetic as `limits`' `SlidingWindowCounterRateLimiter.hit` /
        `test` followed by `get_window_stats`, on the same keys, without the
        five storage round trips (a test checks both agree).
        """
        now = time.time()
        current_key, previous, previous_ttl, current, current_ttl = self._window(key, expiry, now)
        weighted = previous * previous_ttl / expiry + current
        allowed = cost <= limit and math.floor(weighted) + cost <= limit
        if allowed and consume:
            current = self._add(current_key, 2 * expiry, cost, now)
            weighted += cost
        if not (previous or current):
            return allowed, max(0, limit - math.floor(weighted)), 0.0
        reset_after = math.inf
        if previous:
            reset_after = previous_ttl % (expiry / previous)
        if current:
            reset_after = min(reset_after, current_ttl % expiry)
        return allowed, max(0, limit - math.floor(weighted)), reset_after
