"""Redis in `/ready`, and counting that survives a Redis restart (through a TCP proxy)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.edge import TcpProxy, clear_redis_keys, edge_app, edge_settings, serve_as


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[TcpProxy]:
    """A relay to the test Redis that the test can stop and start on the same port."""
    target = urlsplit(redis_url)
    relay = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


def _through(proxy: TcpProxy, redis_url: str) -> str:
    return f"redis://127.0.0.1:{proxy.port}{urlsplit(redis_url).path}"


async def _ready_checks(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.get("/ready")
    body = response.json()
    checks: dict[str, str] = (
        body["checks"] if response.status_code == 200 else body["error"]["details"]["checks"]
    )
    return checks


@pytest.mark.redis
async def test_ready_reports_each_configured_redis(redis_url: str) -> None:
    without = edge_settings()
    shared = edge_settings(redis_url=redis_url)
    dedicated = edge_settings(redis_url=redis_url, ratelimit_storage_url=redis_url)
    memory = edge_settings(redis_url=redis_url, ratelimit_storage_url="memory://")
    try:
        async with serve_as(edge_app(without)) as client:
            assert await _ready_checks(client) == {}
        async with serve_as(edge_app(shared)) as client:
            assert await _ready_checks(client) == {"redis": "ok"}
        async with serve_as(edge_app(dedicated)) as client:
            assert await _ready_checks(client) == {"redis": "ok", "ratelimit_redis": "ok"}
        async with serve_as(edge_app(memory)) as client:
            assert await _ready_checks(client) == {"redis": "ok"}
    finally:
        for settings in (shared, dedicated):
            await clear_redis_keys(redis_url, settings.ratelimit_key_prefix)


@pytest.mark.redis
@pytest.mark.parametrize("fail_open", [True, False], ids=["fail-open", "fail-closed"])
@pytest.mark.parametrize("reset", [False, True], ids=["redis-restart", "host-restart"])
async def test_a_redis_restart_leaves_no_window_of_uncounted_requests(
    redis_url: str,
    proxy: TcpProxy,
    fail_open: bool,
    reset: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = edge_settings(
        ratelimit_default="6/minute",
        redis_url=_through(proxy, redis_url),
        ratelimit_fail_open=fail_open,
        # Ask Redis on every request: what is checked is the connections, not the cooldown.
        ratelimit_outage_cooldown=0,
        redis_socket_timeout=2.0,
    )
    app = edge_app(settings)

    async def burst(count: int) -> list[int]:
        # Requests at once, so the pool holds (or reuses) several connections.
        responses = await asyncio.gather(*(client.get("/api/v1/items") for _ in range(count)))
        return sorted(response.status_code for response in responses)

    try:
        async with serve_as(app) as client:
            assert await burst(4) == [200, 200, 200, 200]
            assert await _ready_checks(client) == {"redis": "ok"}

            # Redis goes away. Its connections are closed (a Redis restart) or, after a
            # host restart, silently dead: the pool finds out only when it uses them.
            await proxy.stop(reset=reset)
            with caplog.at_level(logging.WARNING, logger="bastion.ready"):
                assert (await _ready_checks(client))["redis"] in ("failed", "timeout")
            # Redis down is an outage, not a bug: one line per probe, no traceback.
            assert [r.exc_info for r in caplog.records if r.name == "bastion.ready"] == [None]
            during = await client.get("/api/v1/items")

            await proxy.start()  # Redis is back on the same address
            # The pooled connections cut by the restart must not let a request through
            # uncounted: 4 of 6 were spent before, so exactly 2 of 4 more fit.
            assert await burst(4) == [200, 200, 429, 429]
            assert await _ready_checks(client) == {"redis": "ok"}
    finally:
        await clear_redis_keys(redis_url, settings.ratelimit_key_prefix)
    if fail_open:
        assert during.status_code == 200
    else:
        assert during.status_code == 503
        assert during.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert during.headers["retry-after"]


@pytest.mark.parametrize(
    "anyio_backend", [pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop")]
)
async def test_a_pooled_connection_whose_transport_closed_is_replaced_under_uvloop(
    redis_url: str,
) -> None:
    # uvloop (what `bastion serve` runs) raises RuntimeError, not an OSError, when a
    # command is written to a transport a reset closed before redis-py noticed: the
    # request answered 500 INTERNAL_ERROR instead of retrying on a fresh connection.
    settings = edge_settings(ratelimit_default="6/minute", redis_url=redis_url)
    app = edge_app(settings)
    try:
        async with serve_as(app) as client:
            assert (await client.get("/api/v1/items")).status_code == 200
            redis = app.state.resources.redis
            # Fault injection: close the pooled connections' transports under redis-py.
            for connection in redis.connection_pool._available_connections:
                connection._writer.transport.abort()
            answers = [(await client.get("/api/v1/items")).status_code for _ in range(6)]
    finally:
        await clear_redis_keys(redis_url, settings.ratelimit_key_prefix)
    assert answers == [200] * 5 + [429]  # counted on the fresh connection
