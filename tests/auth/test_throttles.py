"""The auth throttles: per-account caps, exact counting, MFA challenge tries, reported headers."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from fastapi import Depends, FastAPI

from bastion import create_app
from bastion.auth import Auth
from bastion.core import BastionSettings
from bastion.ratelimit import RateLimit
from tests.auth.conftest import PASSWORD, AppFactory, Clock, create_tables, fast_settings, register
from tests.auth.conftest import login as post_login
from tests.auth.helpers import AUTH, WRONG, WallClock, enable_mfa, from_ip, totp
from tests.auth.models import MODELS
from tests.conftest import serve
from tests.edge import clear_redis_keys


def _code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_failed_logins_from_any_ip_count_in_the_accounts_own_budget(
    make_app: AppFactory,
) -> None:
    built = make_app(auth_account_limit="3/hour")
    async with serve(built.app) as client:
        await register(client)
        statuses = []
        for n in range(3):  # each guess from another address: no per-IP budget bites
            async with from_ip(built.app, f"203.0.113.{n}") as guesser:
                statuses.append((await post_login(guesser, password=WRONG)).status_code)
        async with from_ip(built.app, "198.51.100.9") as owner:
            blocked = await post_login(owner)  # the right password, from a fresh address
        other = await post_login(client, "bob@example.com", WRONG)
    assert statuses == [401, 401, 401]
    assert blocked.status_code == 429
    assert _code(blocked) == "RATE_LIMITED"
    assert blocked.headers["ratelimit-policy"] == '"account";q=3;w=3600'
    assert blocked.headers["ratelimit-reset"] == blocked.headers["retry-after"]
    assert other.status_code == 401  # another account is untouched


async def test_wrong_passwords_sent_at_once_get_no_more_verdicts_than_the_budget(
    make_app: AppFactory, redis_url: str
) -> None:
    # Each attempt checked the budget before its hash and counted its failure after:
    # a burst from many addresses passed the check together, every guess answered.
    built = make_app(
        auth_account_limit="3/hour", ratelimit_storage_url=redis_url, password_hash_queue=20
    )
    try:
        async with serve(built.app) as client:
            await register(client)

            async def guess(n: int) -> int:
                async with from_ip(built.app, f"203.0.113.{n}") as guesser:
                    return (await post_login(guesser, password=WRONG)).status_code

            statuses = sorted(await asyncio.gather(*(guess(n) for n in range(10))))
            async with from_ip(built.app, "198.51.100.9") as owner:
                blocked = await post_login(owner)  # the right password: the budget is spent
    finally:
        await clear_redis_keys(redis_url, built.settings.ratelimit_key_prefix)
    assert statuses == [401] * 3 + [429] * 7
    assert blocked.status_code == 429


async def test_the_account_budget_defaults_to_100_failures_an_hour(make_app: AppFactory) -> None:
    built = make_app()
    assert built.settings.auth_account_limit == "100/hour"  # NIST SP 800-63B's ceiling
    async with serve(built.app) as client:
        await register(client)
        statuses = set()
        for n in range(20):  # 20 addresses x 5 failures: each within its per-IP budget
            async with from_ip(built.app, f"203.0.113.{n}") as guesser:
                for _ in range(5):
                    statuses.add((await post_login(guesser, password=WRONG)).status_code)
        async with from_ip(built.app, "198.51.100.9") as owner:
            blocked = await post_login(owner)
    assert statuses == {401}
    assert blocked.status_code == 429


async def test_an_mfa_challenge_dies_after_five_wrong_codes_from_any_ip(
    make_app: AppFactory,
) -> None:
    built = make_app()
    async with serve(built.app) as client:
        await register(client)
        secret = await enable_mfa(built, client, "ada@example.com")
        mfa_token = (await post_login(client)).json()["mfa_token"]
        wrong = []
        for n in range(5):
            async with from_ip(built.app, f"203.0.113.{n}") as guesser:
                body = {"mfa_token": mfa_token, "code": "000000"}
                wrong.append(await guesser.post(f"{AUTH}/mfa/verify", json=body))
        async with from_ip(built.app, "198.51.100.9") as owner:
            body = {"mfa_token": mfa_token, "code": totp(built, secret)}
            dead = await owner.post(f"{AUTH}/mfa/verify", json=body)
            fresh = (await post_login(owner)).json()["mfa_token"]
            body = {"mfa_token": fresh, "code": totp(built, secret)}
            finished = await owner.post(f"{AUTH}/mfa/verify", json=body)
    assert [_code(r) for r in wrong] == ["INVALID_MFA_CODE"] * 5
    assert dead.status_code == 401
    assert _code(dead) == "INVALID_TOKEN"  # even the right code: the challenge is spent
    assert finished.status_code == 200  # a new login (the password again) gives a new one


def _app_with_route_budget(db_settings: BastionSettings, clock: Clock) -> FastAPI:
    """The auth router with a shared per-IP route budget on login, under a global limit."""
    settings = fast_settings(db_settings, ratelimit_default="600/minute")
    limits = [Depends(RateLimit("300/minute", name="auth"))]
    router = Auth(**MODELS, clock=clock, dependencies={"login": limits}).router
    return create_app(settings, routers=[router], lifespan=create_tables)


async def test_login_responses_report_the_throttle_closest_to_exhaustion(
    db_settings: BastionSettings, clock: Clock
) -> None:
    async with serve(_app_with_route_budget(db_settings, clock)) as client:
        await register(client)
        success = await post_login(client)
        failures = [await post_login(client, password=WRONG) for _ in range(5)]
        refused = await post_login(client)  # the right password, over the budget
    assert success.status_code == 200
    assert success.headers["ratelimit-remaining"] == "5"  # forgiven: the budget is whole
    assert [r.status_code for r in failures] == [401] * 5
    assert [r.headers["ratelimit-remaining"] for r in failures] == ["4", "3", "2", "1", "0"]
    assert {r.headers["ratelimit-policy"] for r in failures} == {'"login";q=5;w=60'}
    assert refused.status_code == 429
    assert refused.headers["ratelimit-policy"] == '"login";q=5;w=60'
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-reset"] == refused.headers["retry-after"]
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert refused.json()["error"]["details"]["retry_after"] == int(refused.headers["retry-after"])


@pytest.mark.parametrize("storage", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def test_failed_logins_are_counted_exactly_across_a_window_boundary(
    make_app: AppFactory,
    storage: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    changes: dict[str, object] = {}
    if storage == "redis":
        changes["ratelimit_storage_url"] = request.getfixturevalue("redis_url")
    built = make_app(**changes)
    # 0.8 s before a whole minute: the six attempts straddle it within 1.6 s.
    wall = WallClock(monkeypatch, (time.time() // 60 + 1) * 60 - 0.8)
    try:
        async with serve(built.app) as client:
            await register(client)
            statuses = []
            for _ in range(6):
                statuses.append((await post_login(client, password=WRONG)).status_code)
                wall.advance(0.3)
            wall.advance(60 - 1.8 + 0.1)  # a minute after the first failure: one frees up
            freed = await post_login(client, password=WRONG)
            again = await post_login(client, password=WRONG)
    finally:
        if storage == "redis":
            await clear_redis_keys(
                changes["ratelimit_storage_url"], built.settings.ratelimit_key_prefix
            )  # type: ignore[arg-type]
    assert statuses == [401] * 5 + [429]
    assert freed.status_code == 401
    assert again.status_code == 429


async def test_wrong_current_passwords_count_in_the_accounts_login_budget(
    make_app: AppFactory,
) -> None:
    built = make_app(auth_account_limit="3/hour")
    async with serve(built.app) as client:
        await register(client)
        session = (await post_login(client)).json()["access_token"]
        change = {"current_password": WRONG, "new_password": "a brand new passphrase"}
        headers = {"Authorization": f"Bearer {session}"}
        wrong = [
            (await client.post(f"{AUTH}/password", json=change, headers=headers)).status_code
            for _ in range(3)
        ]
        async with from_ip(built.app, "198.51.100.9") as elsewhere:
            blocked = await post_login(elsewhere, password=PASSWORD)
    assert wrong == [401, 401, 401]
    assert blocked.status_code == 429
