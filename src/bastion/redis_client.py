"""The app's one redis-py asyncio client, built from settings in the lifespan."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bastion.core.settings import BastionSettings

__all__ = ["create_redis_client"]


def create_redis_client(url: str, settings: BastionSettings) -> Redis:
    """Build a redis-py asyncio client for `url` (connections open lazily).

    Socket and connect timeouts come from `settings.redis_socket_timeout`, so an
    unreachable Redis fails a command quickly instead of stalling requests.

    Raises:
        RuntimeError: redis-py is not installed (`pip install bastion[redis]`).
    """
    try:
        from redis.asyncio import Redis
    except ImportError as exc:  # pragma: no cover - the extra is installed in dev and CI
        raise RuntimeError("Redis support needs `pip install bastion[redis]`") from exc
    client: Redis = Redis.from_url(
        url,
        socket_timeout=settings.redis_socket_timeout,
        socket_connect_timeout=settings.redis_socket_timeout,
        health_check_interval=30,
    )
    return client
