"""`RedisSlidingWindow`: the sliding window counter on Redis, one script run per hit."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from limits.errors import StorageError

if TYPE_CHECKING:
    from redis.asyncio import Redis

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
    """Sliding-window-counter budgets on Redis, one round trip per hit.

    `limits` counts a hit with one script and reads the window's state with
    another: two round trips per request. This script does both, with
    `limits`' arithmetic on the key layout of `limits`' Redis storage (its
    default `LIMITS` prefix, the current window at `LIMITS:{key}` and the
    previous one at `LIMITS:{key}/-1`), so that `limits`' own strategy reads
    the same budgets. That layout is a detail of `limits`: the dependency is
    pinned below its next minor release and a contract test runs both on a
    real Redis and checks they agree.

    Args:
        redis: The client to run the script on (the app's own pool).
        prefix: The key prefix of `limits`' Redis storage.
    """

    def __init__(self, redis: Redis, prefix: str = "LIMITS") -> None:
        """Register the script on `redis` (loaded on its first use)."""
        # Imported here: redis-py is an optional extra, needed once a client exists.
        from redis.exceptions import RedisError

        self._errors = (RedisError, OSError)
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(_SCRIPT)

    def _keys(self, key: str) -> list[str]:
        current = f"{self.prefix}:{{{key}}}"
        return [f"{current}/-1", current]

    async def hit(
        self, key: str, limit: int, expiry: int, cost: int, consume: bool
    ) -> tuple[bool, int, float]:
        """Count (or, unless `consume`, test) `cost` hits on `key`'s window.

        Returns:
            `(allowed, remaining, reset_after)`, as `MemorySlidingWindow.hit`.

        Raises:
            StorageError: Redis failed.
        """
        try:
            fits, previous, previous_ttl, current, current_ttl = await self._script(
                keys=self._keys(key), args=[limit, expiry, cost, int(consume)]
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

    async def clear(self, key: str) -> None:
        """Forget the window of `key`.

        Raises:
            StorageError: Redis failed.
        """
        try:
            await self.redis.delete(*self._keys(key))
        except self._errors as exc:
            raise StorageError(exc) from exc

    async def aclose(self) -> None:
        """Nothing to stop: the client belongs to the app, which closes it."""
