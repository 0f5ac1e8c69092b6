"""In-flight locks: a second request with a key whose first is still running gets a 409 at once.

The database record is what makes a keyed write happen once; these locks only
answer a concurrent duplicate early, instead of letting it run its handler and
lose at the record's unique key. `MemoryInFlightLocks` holds them in one
process (development, tests, one worker); `RedisInFlightLocks` across every
worker and host sharing a Redis.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["UNLOCKED", "InFlightLocks", "MemoryInFlightLocks", "RedisInFlightLocks"]

logger = logging.getLogger("bastion.idempotency")

#: Lock store failures are logged at most this often (seconds); every one is counted.
_LOG_EVERY = 10.0

#: The token of a lock that could not be taken because its store is down: the
#: request goes on unlocked (the database record still keeps the write single).
UNLOCKED = ""

# Deletes the lock only if it still holds the releasing request's token: a lock
# that expired and was taken by another request is not released by the first.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class InFlightLocks(Protocol):
    """Where the in-flight locks of keyed requests live."""

    async def acquire(self, key: str, ttl: float) -> str | None:
        """Take the lock on `key` for at most `ttl` seconds.

        Returns:
            A token for `release`, or None when another request holds the lock.
        """
        ...

    async def release(self, key: str, token: str) -> None:
        """Release the lock `acquire` gave `token` (no-op if it expired or is another's)."""
        ...


class MemoryInFlightLocks:
    """In-flight locks in this process's memory: one worker only.

    A lock is held from `acquire` to `release`, or until its `ttl` passes if
    the releasing code never ran.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Start with no lock held; `clock` (seconds) times the locks out."""
        self._held: dict[str, tuple[str, float]] = {}
        self._clock = clock

    async def acquire(self, key: str, ttl: float) -> str | None:
        """Take the lock on `key` unless a live one is held."""
        now = self._clock()
        held = self._held.get(key)
        if held is not None and held[1] > now:
            return None
        token = secrets.token_hex(8)
        self._held[key] = (token, now + ttl)
        return token

    async def release(self, key: str, token: str) -> None:
        """Release the lock if `token` still holds it."""
        held = self._held.get(key)
        if held is not None and held[0] == token:
            del self._held[key]


class RedisInFlightLocks:
    """In-flight locks in Redis (`SET NX PX`), shared by every worker on that Redis.

    A Redis outage does not fail the request: the lock is a convenience, so the
    request goes on unlocked (a warning every 10 seconds at most, with the count
    of failed calls) and the database record still lets only one of two racing
    writes commit. A call that takes
    longer than `timeout` seconds counts as an outage: a Redis that accepts
    connections and never answers holds a request that long at most.
    """

    def __init__(
        self, redis: Redis, *, prefix: str = "bastion:idempotency:", timeout: float | None = None
    ) -> None:
        """Use `redis` (the app's client), with keys under `prefix`; `timeout` bounds each call."""
        self._redis = redis
        self._prefix = prefix
        self._timeout = timeout
        self._failures = 0
        self._last_log = -math.inf

    def _unavailable(self, then: str) -> None:
        """Count a failed call; warn about it unless a warning went out lately."""
        self._failures += 1
        now = time.monotonic()
        if now - self._last_log >= _LOG_EVERY:
            self._last_log = now
            logger.warning(
                "idempotency lock store unavailable; %s (failed calls so far: %d)",
                then,
                self._failures,
            )

    async def acquire(self, key: str, ttl: float) -> str | None:
        """Take the lock on `key` unless another request holds it."""
        from redis.exceptions import RedisError

        token = secrets.token_hex(8)
        try:
            async with asyncio.timeout(self._timeout):
                taken = await self._redis.set(
                    self._prefix + key, token, nx=True, px=max(1, int(ttl * 1000))
                )
        except (RedisError, OSError):  # TimeoutError included
            self._unavailable("serving unlocked")
            return UNLOCKED
        return token if taken else None

    async def release(self, key: str, token: str) -> None:
        """Release the lock if `token` still holds it."""
        from redis.exceptions import RedisError

        if token == UNLOCKED:
            return
        try:
            async with asyncio.timeout(self._timeout):
                # redis-py's stubs type `eval` as sync-or-async across versions.
                pending = self._redis.eval(_RELEASE, 1, self._prefix + key, token)
                if inspect.isawaitable(pending):
                    await pending
        except (RedisError, OSError):  # TimeoutError included
            self._unavailable("the lock expires on its own")
