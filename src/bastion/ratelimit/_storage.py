"""Build the rate limiter's `limits` storage (memory or Redis) from settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import TYPE_CHECKING

from limits.aio.storage import MemoryStorage, RedisStorage, Storage

from bastion.ratelimit._limiter import RateLimiter
from bastion.ratelimit._redis_window import RedisSlidingWindow

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bastion.core import BastionSettings

__all__ = [
    "close_rate_limiter",
    "create_rate_limiter",
    "rate_limit_storage",
]

logger = logging.getLogger("bastion.ratelimit")


def rate_limit_storage(redis: Redis | None) -> Storage:
    """A `limits` async storage: on `redis`'s connection pool, or in process memory.

    The Redis storage reuses the app's client pool (no second set of
    connections) and wraps driver errors in `limits.errors.StorageError`, which
    the limiter's outage policy handles. The memory storage is for development,
    tests and single-process deployments only: each worker counts on its own.
    """
    if redis is None:
        return MemoryStorage(wrap_exceptions=True)
    return RedisStorage(
        "async+redis://",
        implementation="redispy",
        wrap_exceptions=True,
        connection_pool=redis.connection_pool,  # type: ignore[arg-type]  # passed through to redis-py
    )


def create_rate_limiter(settings: BastionSettings, redis: Redis | None = None) -> RateLimiter:
    """Build the app's `RateLimiter` from settings.

    Args:
        settings: Strategy, key prefix, outage policy and (on Redis) the
            longest a storage call may take come from here.
        redis: The Redis client for the counters, or None for memory. The
            sliding window counter runs its one-round-trip script on it.
    """
    storage = rate_limit_storage(redis)
    if redis is None and settings.is_production and _workers() > 1:
        logger.warning(
            "rate limits are counted in process memory while %d workers serve the app: "
            "each worker enforces its own budget; set BASTION_REDIS_URL to share one",
            _workers(),
        )
    return RateLimiter(
        storage,
        strategy=settings.ratelimit_strategy,
        key_prefix=settings.ratelimit_key_prefix,
        fail_open=settings.ratelimit_fail_open,
        outage_cooldown=settings.ratelimit_outage_cooldown,
        window=None if redis is None else RedisSlidingWindow(redis),
        # A Redis that accepts connections and never answers costs a request this
        # long at most: redis-py's own timeouts apply per socket operation, and its
        # pool makes callers wait for each other's connection attempts.
        timeout=None if redis is None else settings.redis_socket_timeout,
    )


async def close_rate_limiter(limiter: RateLimiter) -> None:
    """Stop the limiter's sweep tasks: its window's reaper and the memory storage's timer."""
    await limiter.aclose()
    # `timer` is the public attribute where `limits`' memory storage keeps its
    # expiry task; a test checks it is still there.
    timer = getattr(limiter.storage, "timer", None)
    if isinstance(timer, asyncio.Task) and not timer.done():
        timer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await timer


def _workers() -> int:
    """Worker count announced by the process manager (`WEB_CONCURRENCY`, read by uvicorn and gunicorn)."""
    try:
        return int(os.environ.get("WEB_CONCURRENCY", "1"))
    except ValueError:
        return 1
