"""The auth throttles under outages: they fail closed, and an outage spends no budget."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.engine import make_url

from bastion import create_app
from bastion.auth import Auth
from bastion.core import BastionSettings
from tests.auth.conftest import (
    AppFactory,
    Clock,
    bearer,
    create_tables,
    fast_settings,
    login,
    register,
    tokens,
)
from tests.auth.helpers import AUTH, WRONG, enable_mfa, totp
from tests.auth.models import MODELS
from tests.conftest import serve
from tests.db.conftest import temporary_database
from tests.edge import TcpProxy, clear_redis_keys, proxied_redis


def _code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


@pytest.mark.redis
async def test_auth_throttles_fail_closed_when_their_storage_is_down(
    make_app: AppFactory, redis_url: str
) -> None:
    target = urlsplit(redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    built = make_app(
        ratelimit_storage_url=f"redis://127.0.0.1:{proxy.port}{target.path}",
        ratelimit_outage_cooldown=0,  # ask Redis every time: recovery is immediate
        redis_socket_timeout=0.5,
    )
    assert built.settings.ratelimit_fail_open  # the convenience limits would serve
    try:
        async with serve(built.app) as client:
            await register(client)
            await register(client, "bob@example.com")
            access = (await tokens(client))["access_token"]
            secret = await enable_mfa(built, client, "bob@example.com")
            mfa_token = (await login(client, "bob@example.com")).json()["mfa_token"]
            await proxy.stop()
            refused = [
                await login(client, "ada@example.com", WRONG),
                await login(client),
                await client.post(
                    f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": "000000"}
                ),
                await client.post(
                    f"{AUTH}/password",
                    json={"current_password": WRONG, "new_password": "a brand new passphrase"},
                    headers=bearer(access),
                ),
            ]
            await proxy.start()
            after = await login(client)
            verified = await client.post(
                f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": totp(built, secret)}
            )
    finally:
        await proxy.stop()
        await clear_redis_keys(redis_url, built.settings.ratelimit_key_prefix)
    for response in refused:
        assert response.status_code == 503, response.text
        assert _code(response) == "SERVICE_UNAVAILABLE"
        assert int(response.headers["retry-after"]) >= 1
    assert after.status_code == 200  # Redis is back: so is logging in
    assert verified.status_code == 200  # the outage spent none of the challenge's tries


@pytest.mark.redis
async def test_logins_racing_to_a_redis_that_stops_answering_get_a_503_not_the_time_budget(
    make_app: AppFactory, redis_url: str
) -> None:
    proxy, proxied_url = await proxied_redis(redis_url)
    built = make_app(ratelimit_storage_url=proxied_url, redis_socket_timeout=0.2, request_timeout=2)
    try:
        async with serve(built.app) as client:
            await register(client)
            assert (await login(client)).status_code == 200
            proxy.stall()  # accepts connections, answers nothing, old ones included
            refused = await asyncio.gather(*(login(client) for _ in range(8)))
    finally:
        await proxy.stop()
        await clear_redis_keys(redis_url, built.settings.ratelimit_key_prefix)
    assert [r.status_code for r in refused] == [503] * 8
    assert {_code(r) for r in refused} == {"SERVICE_UNAVAILABLE"}


@pytest.mark.redis
async def test_a_limiter_storage_outage_spends_no_login_budget(
    make_app: AppFactory, redis_url: str
) -> None:
    target = urlsplit(redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    built = make_app(
        ratelimit_storage_url=f"redis://127.0.0.1:{proxy.port}{target.path}",
        ratelimit_outage_cooldown=0,
        redis_socket_timeout=0.5,
    )
    try:
        async with serve(built.app) as client:
            await register(client)
            failures = [(await login(client, password=WRONG)).status_code for _ in range(4)]
            await proxy.stop()
            during = [(await login(client, password=WRONG)).status_code for _ in range(3)]
            await proxy.start()
            last = await login(client, password=WRONG)
    finally:
        await proxy.stop()
        await clear_redis_keys(redis_url, built.settings.ratelimit_key_prefix)
    assert failures == [401] * 4
    assert during == [503] * 3
    assert last.status_code == 401  # the fifth failure: the outage counted nothing
    assert last.headers["ratelimit-remaining"] == "0"


@pytest.mark.postgres
async def test_logins_during_a_database_outage_spend_no_budget(
    settings: BastionSettings, postgres_url: str, tmp_path: Path, clock: Clock
) -> None:
    real = make_url(postgres_url)
    proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
    await proxy.start()
    async with temporary_database("postgres", settings, tmp_path, postgres_url) as db:
        proxied = real.set(host="127.0.0.1", port=proxy.port)
        app_settings = fast_settings(db, database_url=proxied.render_as_string(hide_password=False))
        auth = Auth(**MODELS, clock=clock)
        app = create_app(app_settings, routers=[auth.router], lifespan=create_tables)
        try:
            async with serve(app) as client:
                await register(client)
                await proxy.stop()
                during = [await login(client) for _ in range(6)]  # the right password
                await proxy.start()
                after = await login(client)
        finally:
            await proxy.stop()
    for response in during:  # the database is down: never a 429 for spent budget
        assert response.status_code == 503, response.text
        assert _code(response) == "DATABASE_UNAVAILABLE"
        assert int(response.headers["retry-after"]) >= 1
    assert after.status_code == 200, after.text  # the account's budget is whole


@pytest.mark.redis
async def test_a_right_password_whose_forgiving_met_an_outage_spends_no_budget(
    make_app: AppFactory, redis_url: str
) -> None:
    # The right password took a unit of the budget before forgiving it: Redis failing
    # the forgiving left that unit spent, one fewer for the account's owner.
    proxy, url = await proxied_redis(redis_url)
    built = make_app(
        ratelimit_storage_url=url, ratelimit_outage_cooldown=0, redis_socket_timeout=0.5
    )
    try:
        async with serve(built.app) as client:
            await register(client)
            proxy.cut_on = b"DEL"  # Redis fails the forgiving (the budgets' reset) alone
            during = await login(client)
            proxy.cut_on = None
            failures = [(await login(client, password=WRONG)).status_code for _ in range(4)]
            right = await login(client)
    finally:
        await proxy.stop()
        await clear_redis_keys(redis_url, built.settings.ratelimit_key_prefix)
    assert during.status_code == 503, during.text
    assert failures == [401] * 4
    assert right.status_code == 200, right.text  # the fifth unit was still there
