"""The in-flight lock stores: one contract over memory and Redis, and a Redis outage."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from bastion.idempotency import InFlightLocks, MemoryInFlightLocks, RedisInFlightLocks
from bastion.idempotency._locks import UNLOCKED
from tests.edge import TcpProxy, proxied_redis


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def locks(request: pytest.FixtureRequest) -> AsyncIterator[InFlightLocks]:
    if request.param == "memory":
        yield MemoryInFlightLocks()
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    try:
        yield RedisInFlightLocks(client, prefix=f"test:{uuid.uuid4().hex}:")
    finally:
        await client.aclose()


async def test_a_held_lock_refuses_a_second_holder_until_released(locks: InFlightLocks) -> None:
    token = await locks.acquire("k", 30)
    assert token
    assert await locks.acquire("k", 30) is None
    assert await locks.acquire("other", 30)
    await locks.release("k", token)
    assert await locks.acquire("k", 30)


async def test_a_stale_token_releases_nothing(locks: InFlightLocks) -> None:
    token = await locks.acquire("k", 30)
    assert token
    await locks.release("k", "not-the-token")
    assert await locks.acquire("k", 30) is None


async def test_an_expired_memory_lock_can_be_taken_again() -> None:
    now = [100.0]
    locks = MemoryInFlightLocks(clock=lambda: now[0])
    first = await locks.acquire("k", 30)
    assert first
    now[0] += 31
    second = await locks.acquire("k", 30)
    assert second
    await locks.release("k", first)  # the first holder's late release frees nothing
    assert await locks.acquire("k", 30) is None


@pytest.mark.redis
async def test_an_expired_redis_lock_can_be_taken_again(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        locks = RedisInFlightLocks(client, prefix=f"test:{uuid.uuid4().hex}:")
        first = await locks.acquire("k", 0.001)
        assert first
        second = None
        for _ in range(200):  # bounded: Redis expires the key on its own clock
            second = await locks.acquire("k", 30)
            if second is not None:
                break
            await asyncio.sleep(0.005)
        assert second is not None
        await locks.release("k", first)
        assert await locks.acquire("k", 30) is None
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_a_redis_outage_serves_unlocked(redis_url: str) -> None:
    target = urlsplit(redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    client = Redis.from_url(f"redis://127.0.0.1:{proxy.port}/0", socket_timeout=0.5)
    try:
        locks = RedisInFlightLocks(client, prefix=f"test:{uuid.uuid4().hex}:")
        await proxy.stop()
        token = await locks.acquire("k", 30)
        await locks.release("k", token or UNLOCKED)
    finally:
        await proxy.stop()
        await client.aclose()
    assert token == UNLOCKED


@pytest.mark.redis
async def test_an_outage_is_logged_once_in_a_while_not_once_per_request(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # One warning per request flooded the log in proportion to traffic during an outage.
    proxy, url = await proxied_redis(redis_url)
    client = Redis.from_url(url, socket_timeout=0.5)
    try:
        locks = RedisInFlightLocks(client, prefix=f"test:{uuid.uuid4().hex}:")
        await proxy.stop()
        with caplog.at_level(logging.WARNING, logger="bastion.idempotency"):
            for number in range(20):
                token = await locks.acquire(f"k{number}", 30)
                assert token == UNLOCKED
                await locks.release(f"k{number}", token)
    finally:
        await proxy.stop()
        await client.aclose()
    (line,) = [record.getMessage() for record in caplog.records]
    assert line == "idempotency lock store unavailable; serving unlocked (failed calls so far: 1)"
