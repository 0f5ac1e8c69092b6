"""The app's redis-py asyncio clients, built from settings in the lifespan, and their `/ready` check."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry

    from bastion.core import BastionSettings

__all__ = [
    "REDIS_HEALTH_CHECK_INTERVAL",
    "RedisClientOptions",
    "create_redis_client",
    "redis_client_options",
    "redis_ready_check",
]

#: Seconds a pooled connection may sit idle before it is pinged ahead of its next command.
REDIS_HEALTH_CHECK_INTERVAL = 10


class RedisClientOptions(TypedDict):
    """What `redis_client_options` returns: keyword arguments of a redis-py client."""

    socket_timeout: float
    socket_connect_timeout: float
    health_check_interval: int
    retry: Retry
    retry_on_error: list[type[Exception]]


def redis_client_options(settings: BastionSettings) -> RedisClientOptions:
    """The keyword arguments of every bastion Redis client (see `create_redis_client`).

    The jobs worker builds arq's client with them too, so it fails, and recovers,
    as the app's clients do.
    """
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    # One retry is enough for a connection cut by a restart; more would only
    # multiply the wait while Redis is down. A retried timeout may count a hit
    # twice, which errs on the strict side. uvloop (`bastion serve`) raises
    # RuntimeError, not OSError, writing to a transport a reset closed before
    # redis-py noticed: that connection is as dead, and a fresh one is tried too.
    return RedisClientOptions(
        socket_timeout=settings.redis_socket_timeout,
        socket_connect_timeout=settings.redis_socket_timeout,
        health_check_interval=REDIS_HEALTH_CHECK_INTERVAL,
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), retries=1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError, RuntimeError],
    )


def create_redis_client(
    url: str, settings: BastionSettings, *, tracer: Tracer | None = None
) -> Redis:
    """Build a redis-py asyncio client for `url` (connections open lazily).

    Socket and connect timeouts come from `settings.redis_socket_timeout`, so an
    unreachable Redis fails a command quickly instead of stalling requests.

    A Redis restart leaves every pooled connection cut. Each one is repaired
    before a command is lost on it: a connection idle for
    `REDIS_HEALTH_CHECK_INTERVAL` seconds is pinged first, and a command that
    fails with a connection error, a timeout or a closed transport is sent once
    more on a fresh connection. A command therefore fails only when Redis is
    really down, after a few socket timeouts at most when it hangs.

    With a `tracer`, each command sent while a request is traced is a child
    span of it.

    Raises:
        RuntimeError: redis-py is not installed (`pip install bastion[redis]`).
    """
    try:
        from redis.asyncio import Redis

        from bastion.observability._redis_tracing import TracedRedis

        options = redis_client_options(settings)
    except ImportError as exc:  # pragma: no cover - the extra is installed in dev and CI
        raise RuntimeError("Redis support needs `pip install bastion[redis]`") from exc
    client: Redis = (Redis if tracer is None else TracedRedis).from_url(url, **options)
    if isinstance(client, TracedRedis):
        client.tracer = tracer
    return client


def redis_ready_check(client: Redis) -> Callable[[], Awaitable[bool]]:
    """Return a `/ready` check that sends `PING` on one of `client`'s pooled connections.

    Redis being unreachable fails the check as a `ConnectionError`, which `/ready`
    logs in one line without a traceback, as it does a database that is down.
    """
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    async def check() -> bool:
        try:
            return bool(await client.ping())
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise ConnectionError(f"Redis is unreachable ({type(exc).__name__})") from None

    return check
