"""One-round-trip sliding-window-counter hits on `limits`' Redis storage."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from limits.aio.storage.redis.redispy import RedispyBridge
from limits.errors import StorageError

if TYPE_CHECKING:
    from limits.aio.storage import RedisStorage

__all__ = ["RedisSlidingWindow"]

# KEYS: the previous and the current window's counters; ARGV: limit, window
# seconds, cost, 1 to consume (0 to test). Rolls an ended current window over
# to the previous one, counts `cost` if the weighted count leaves room, and
# returns whether it did with the counters and their TTLs (ms) as they are
# after the hit, so that one round trip gives both the verdict and the stats.
_SCRIPT = b"""
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2]) * 1000
local cost = tonumber(ARGV[3])
local current_ttl = redis.call('pttl', KEYS[2])
if current_ttl > 0 and current_ttl < window then
    redis.call('rename', KEYS[2], KEYS[1])
    redis.call('set', KEYS[2], 0, 'PX', current_ttl + window)
end
local previous = tonumber(redis.call('get', KEYS[1]) or 0)
local previous_ttl = math.max(redis.call('pttl', KEYS[1]), 0)
local current = tonumber(redis.call('get', KEYS[2]) or 0)
current_ttl = math.max(redis.call('pttl', KEYS[2]), 0)
local fits = cost <= limit
    and math.floor(previous * previous_ttl / window) + current + cost <= limit
if fits and ARGV[4] == '1' then
    if current_ttl > 0 then
        current = redis.call('incrby', KEYS[2], cost)
    else
        redis.call('set', KEYS[2], cost, 'PX', window * 2)
        current = cost
        current_ttl = window * 2
    end
end
return {fits and 1 or 0, previous, previous_ttl, current, current_ttl}
"""


class RedisSlidingWindow:
    """Sliding-window-counter hits on `limits`' async Redis storage, one round trip each.

    `limits` counts a hit with one script and reads the window's state with
    another: two round trips per request. This script does both, on the same
    keys with the same arithmetic (a test checks it against `limits`' own
    strategy), so budgets, resets and `limits`' own reads stay interchangeable.

    Args:
        storage: `limits`' async Redis storage on redis-py.

    Raises:
        TypeError: The storage runs on another Redis driver.
    """

    def __init__(self, storage: RedisStorage) -> None:
        """Register the script on the storage's client (loaded on its first use)."""
        bridge = storage.bridge
        if not isinstance(bridge, RedispyBridge):
            raise TypeError("RedisSlidingWindow needs limits' Redis storage on redis-py")
        self._prefix = bridge.key_prefix
        self._errors = storage.base_exceptions
        self._script = bridge.get_connection().register_script(_SCRIPT)

    async def hit(
        self, key: str, limit: int, expiry: int, cost: int, consume: bool
    ) -> tuple[bool, int, float]:
        """Count (or, unless `consume`, test) `cost` hits on `key`'s window.

        Returns:
            `(allowed, remaining, reset_after)`, as `MemoryRateLimitStorage.sliding_window_hit`.

        Raises:
            StorageError: Redis failed.
        """
        current_key = f"{self._prefix}:{{{key}}}"  # `limits`' own key names
        try:
            fits, previous, previous_ttl, current, current_ttl = await self._script(
                keys=[f"{current_key}/-1", current_key], args=[limit, expiry, cost, int(consume)]
            )
        except self._errors as exc:
            raise StorageError(exc) from exc
        previous_ttl /= 1000
        remaining = max(0, limit - math.floor(previous * previous_ttl / expiry + current))
        resets = []
        if previous:
            resets.append(previous_ttl % (expiry / previous))
        if current:
            resets.append(current_ttl / 1000 % expiry)
        return bool(fits), remaining, min(resets, default=0.0)
