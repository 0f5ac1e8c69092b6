"""Session and MFA writes racing each other on PostgreSQL: the user's row makes them take turns.

A revocation's `UPDATE` cannot see a session row another transaction inserted and
has not committed. Each test pauses a login or a refresh after it wrote its session
(in `access_claims`, its last step before the commit) and runs a password change
meanwhile: it must wait for the pause to end and revoke what the paused request
wrote. SQLite runs one writer at a time, so only PostgreSQL can interleave them.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bastion import create_app
from bastion.auth import Auth, UserOut
from bastion.core import BastionSettings
from bastion.security import TotpService
from tests.auth.conftest import (
    PASSWORD,
    Clock,
    RecordingHooks,
    bearer,
    create_tables,
    fast_settings,
    login,
    protected_router,
    register,
    tokens,
)
from tests.auth.models import MODELS
from tests.conftest import serve
from tests.db.conftest import temporary_database

pytestmark = pytest.mark.postgres

NEW_PASSWORD = "a brand new passphrase"
#: The apps' clock: TOTP codes are computed at its (fixed) time.
CLOCK = Clock()
# Sessions of the test's own schema waiting for a row lock.
_LOCK_WAITS = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


@dataclass
class PausingHooks(RecordingHooks):
    """Hooks whose `access_claims` waits at `gate` while one is set."""

    gate: asyncio.Event | None = None
    paused: asyncio.Event = field(default_factory=asyncio.Event)

    async def _pause(self) -> None:
        if self.gate is not None:
            self.paused.set()
            await self.gate.wait()

    async def access_claims(self, user: UserOut) -> dict[str, object]:
        """Wait at the gate: the session row is written, the transaction still open."""
        await self._pause()
        return await super().access_claims(user)

    async def after_mfa_change(self, user: UserOut, *, enabled: bool) -> None:
        """Wait at the gate: the user's new MFA state is written, not yet committed."""
        await self._pause()
        await super().after_mfa_change(user, enabled=enabled)


async def _lock_waits(
    watcher: AsyncEngine, count: int, *, unless: asyncio.Future[httpx.Response] | None = None
) -> None:
    """Return once `count` requests wait for a row lock, or `unless` ended (10 s at most)."""
    for _ in range(400):  # bounded: 10 s at most
        if unless is not None and unless.done():
            return
        async with watcher.connect() as connection:
            if (await connection.execute(_LOCK_WAITS)).scalar_one() >= count:
                return
        await asyncio.sleep(0.025)
    raise AssertionError(f"fewer than {count} requests waited for the lock")


@dataclass
class Racing:
    client: httpx.AsyncClient
    hooks: PausingHooks
    watcher: AsyncEngine
    database: BastionSettings

    async def paused_while(
        self, first: Awaitable[httpx.Response], second: Awaitable[httpx.Response]
    ) -> tuple[httpx.Response, httpx.Response]:
        """Run `first` to its pause, then `second` until it waits for a lock or ends; resume."""
        self.hooks.gate = gate = asyncio.Event()
        paused = asyncio.ensure_future(first)
        await asyncio.wait_for(self.hooks.paused.wait(), timeout=10)
        racing = asyncio.ensure_future(second)
        try:
            await _lock_waits(self.watcher, 1, unless=racing)
        finally:
            self.hooks.gate = None
            gate.set()
        return await paused, await racing


@pytest.fixture
async def racing(
    postgres_url: str, settings: BastionSettings, tmp_path: Path
) -> AsyncIterator[Racing]:
    async with temporary_database("postgres", settings, tmp_path, postgres_url) as db:
        hooks = PausingHooks()
        watcher = create_async_engine(postgres_url, poolclass=NullPool)
        try:
            async with serve(_app(db, hooks)) as client:
                await register(client)
                yield Racing(client, hooks, watcher, db)
        finally:
            await watcher.dispose()


def _app(database: BastionSettings, hooks: PausingHooks, **changes: object) -> FastAPI:
    auth = Auth(**MODELS, hooks=hooks, clock=CLOCK)
    return create_app(
        fast_settings(database, **changes),
        routers=[auth.router, protected_router()],
        lifespan=create_tables,
    )


def _change_password(client: httpx.AsyncClient, access_token: str) -> Awaitable[httpx.Response]:
    return client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(access_token),
    )


def _refresh(client: httpx.AsyncClient, refresh_token: str) -> Awaitable[httpx.Response]:
    return client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})


async def test_a_login_finishing_during_a_password_change_is_revoked_by_it(
    racing: Racing,
) -> None:
    client = racing.client
    owner = await tokens(client)
    logged_in, changed = await racing.paused_while(
        login(client), _change_password(client, owner["access_token"])
    )
    assert changed.status_code == 204, changed.text
    assert logged_in.status_code == 200, logged_in.text  # it verified the password first
    pair = logged_in.json()
    assert (
        await client.get("/api/v1/private", headers=bearer(pair["access_token"]))
    ).status_code == 401
    assert (await _refresh(client, pair["refresh_token"])).status_code == 401


async def test_a_refresh_finishing_during_a_password_change_is_revoked_by_it(
    racing: Racing,
) -> None:
    client = racing.client
    owner = await tokens(client)
    other = await tokens(client)
    refreshed, changed = await racing.paused_while(
        _refresh(client, other["refresh_token"]), _change_password(client, owner["access_token"])
    )
    assert changed.status_code == 204, changed.text
    assert refreshed.status_code == 200, refreshed.text  # it spent its token first
    child = refreshed.json()
    assert (await _refresh(client, child["refresh_token"])).status_code == 401
    assert (
        await client.get("/api/v1/private", headers=bearer(child["access_token"]))
    ).status_code == 401
    # The owner's own session stays.
    assert (
        await client.get("/api/v1/private", headers=bearer(owner["access_token"]))
    ).status_code == 200


async def test_a_refresh_finishing_during_a_logout_of_its_session_is_revoked_by_it(
    racing: Racing,
) -> None:
    client = racing.client
    pair = await tokens(client)
    refreshed, logged_out = await racing.paused_while(
        _refresh(client, pair["refresh_token"]),
        client.post(
            "/api/v1/auth/logout",
            json={"refresh_token": pair["refresh_token"]},
            headers=bearer(pair["access_token"]),
        ),
    )
    assert logged_out.status_code == 204, logged_out.text
    assert refreshed.status_code == 200, refreshed.text
    assert (await _refresh(client, refreshed.json()["refresh_token"])).status_code == 401


async def test_two_logins_rehashing_one_password_at_once_both_succeed(racing: Racing) -> None:
    # Stronger parameters than the password was hashed with: each login rehashes it.
    # The paused one holds its new hash uncommitted; the other finds it stored once it
    # may write, and the password still opens it.
    hooks = PausingHooks()
    async with serve(_app(racing.database, hooks, password_hash_time_cost=2)) as client:
        rehashing = Racing(client, hooks, racing.watcher, racing.database)
        first, second = await rehashing.paused_while(login(client), login(client))
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)


def _mfa(
    client: httpx.AsyncClient, action: str, access_token: str, **body: str
) -> Awaitable[httpx.Response]:
    return client.post(
        f"/api/v1/auth/mfa/{action}", json=body or None, headers=bearer(access_token)
    )


def _totp(secret: str, offset: int = 0) -> str:
    totp = TotpService(issuer="test", clock=CLOCK)
    return totp.code_at(secret, totp.current_step() + offset)


def _wrong(secret: str) -> str:
    """A code the secret does not give now."""
    return str((int(_totp(secret)) + 1) % 1_000_000).zfill(6)


async def _set_up(client: httpx.AsyncClient) -> tuple[str, str]:
    """Log in and start MFA's setup: the access token and the pending secret."""
    access = (await tokens(client))["access_token"]
    return access, (await _mfa(client, "setup", access)).json()["secret"]


async def _turned_on(client: httpx.AsyncClient) -> tuple[str, str, list[str]]:
    """Log in and turn MFA on (the previous step's code): access token, secret, recovery codes."""
    access, secret = await _set_up(client)
    enabled = await _mfa(client, "enable", access, code=_totp(secret, -1))
    assert enabled.status_code == 200, enabled.text
    return access, secret, enabled.json()["recovery_codes"]


async def test_a_setup_during_an_enable_cannot_replace_the_secret_it_confirmed(
    racing: Racing,
) -> None:
    # The setup used to overwrite the confirmed secret once the enable committed: MFA
    # on with a secret nobody confirmed, the owner's authenticator refused.
    client = racing.client
    access, secret = await _set_up(client)
    enabled, setup = await racing.paused_while(
        _mfa(client, "enable", access, code=_totp(secret)), _mfa(client, "setup", access)
    )
    assert enabled.status_code == 200, enabled.text
    assert (setup.status_code, setup.json()["error"]["code"]) == (409, "MFA_ALREADY_ENABLED")
    challenge = (await login(client)).json()["mfa_token"]
    verified = await client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": challenge, "code": _totp(secret, 1)}
    )
    assert verified.status_code == 200, verified.text


async def test_one_factor_turns_mfa_off_once_however_many_requests_race(
    racing: Racing,
) -> None:
    # A second disable, with the next step's code, used to find the step guard cleared
    # by the first and turn MFA off again: two 204s, two audit events, two hook calls.
    client = racing.client
    access, secret, _ = await _turned_on(client)
    first, second = await racing.paused_while(
        _mfa(client, "disable", access, code=_totp(secret)),
        _mfa(client, "disable", access, code=_totp(secret, 1)),
    )
    assert first.status_code == 204, first.text
    assert second.status_code in {401, 409}, second.text
    assert [event for event in racing.hooks.names() if event == "mfa_change"] == [
        "mfa_change",
        "mfa_change",  # the enable and one disable
    ]


async def test_two_recovery_codes_turn_mfa_off_once(racing: Racing) -> None:
    client = racing.client
    access, _, codes = await _turned_on(client)
    first, second = await racing.paused_while(
        _mfa(client, "disable", access, code=codes[0]),
        _mfa(client, "disable", access, code=codes[1]),
    )
    assert first.status_code == 204, first.text
    assert second.status_code in {401, 409}, second.text
    assert racing.hooks.names().count("mfa_change") == 2


async def test_an_enable_whose_secret_a_setup_replaced_after_its_code_leaves_mfa_off(
    racing: Racing,
) -> None:
    # The enable spends its code and commits; a setup then stores a new secret before
    # the enable turns MFA on. It used to turn MFA on with that unconfirmed secret.
    client = racing.client
    access, secret = await _set_up(client)
    users = f'"{racing.database.database_schema}".users'
    async with racing.watcher.connect() as holder:
        await holder.execute(text(f"SELECT id FROM {users} FOR UPDATE"))  # noqa: S608
        enabling = asyncio.ensure_future(_mfa(client, "enable", access, code=_totp(secret)))
        await _lock_waits(racing.watcher, 1)  # the enable's code waits to be spent
        setting_up = asyncio.ensure_future(_mfa(client, "setup", access))
        await _lock_waits(racing.watcher, 2)  # the setup's write queues behind it
        await holder.rollback()
    enabled, setup = await enabling, await setting_up
    assert setup.status_code == 200, setup.text
    assert (enabled.status_code, enabled.json()["error"]["code"]) == (401, "INVALID_MFA_CODE")
    assert set((await login(client)).json()) != {"mfa_required", "mfa_token"}
    # The new secret is pending and can be confirmed.
    confirmed = await _mfa(client, "enable", access, code=_totp(setup.json()["secret"], 1))
    assert confirmed.status_code == 200, confirmed.text


@pytest.mark.parametrize("action", ["enable", "disable"])
async def test_wrong_codes_sent_at_once_are_checked_no_more_than_the_budget(
    racing: Racing, action: str, redis_url: str
) -> None:
    # Each request checked the budget, then counted its failure after the verdict: every
    # request in flight passed the check, so a burst tried as many codes as it held.
    hooks = PausingHooks()
    settings = {"auth_login_limit": "3/minute", "ratelimit_storage_url": redis_url}
    async with serve(_app(racing.database, hooks, **settings)) as client:
        if action == "enable":
            access, secret = await _set_up(client)
        else:
            access, secret, _ = await _turned_on(client)
        wrong = _wrong(secret)
        answers = await asyncio.gather(
            *(_mfa(client, action, access, code=wrong) for _ in range(12))
        )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [401] * 3 + [429] * 9, [answer.text for answer in answers]


@pytest.mark.parametrize("kind", ["recovery code", "wrong code"])
async def test_a_second_factor_refused_by_a_budget_spent_meanwhile_is_audited_and_kept(
    racing: Racing, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A code tried while other tries spent the budget: it passed the budget's check, then
    # waited (here on its challenge's row) while three wrong codes spent the budget. A right
    # code was spent for good and answered 429; neither answer logged `login.throttled`.
    hooks = PausingHooks()
    async with serve(_app(racing.database, hooks, auth_login_limit="3/minute")) as client:
        _, secret, (recovery, *_) = await _turned_on(client)
        paused_token, filling_token = [(await login(client)).json()["mfa_token"] for _ in range(2)]
        challenge = jwt.decode(paused_token, options={"verify_signature": False})["sid"]
        schema = racing.database.database_schema
        wrong = _wrong(secret)
        code = recovery if kind == "recovery code" else wrong

        def verify(token: str, code: str) -> Awaitable[httpx.Response]:
            return client.post("/api/v1/auth/mfa/verify", json={"mfa_token": token, "code": code})

        async with racing.watcher.connect() as holder:
            await holder.execute(
                text(f'SELECT id FROM "{schema}".auth_mfa_challenges WHERE id = :id FOR UPDATE'),  # noqa: S608
                {"id": uuid.UUID(challenge)},
            )
            paused = asyncio.ensure_future(verify(paused_token, code))
            await _lock_waits(racing.watcher, 1)
            fillers = [await verify(filling_token, wrong) for _ in range(3)]
            assert [filler.status_code for filler in fillers] == [401] * 3
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="bastion.audit"):
                await holder.rollback()
                answer = await paused
        async with racing.watcher.connect() as connection:
            used = await connection.execute(
                text(
                    f'SELECT count(*) FROM "{schema}".auth_recovery_codes'  # noqa: S608
                    " WHERE used_at IS NOT NULL"
                )
            )
            spent = used.scalar_one()
    assert answer.status_code == 429, answer.text
    assert spent == 0  # the recovery code can be used once the budget frees up
    events = [record.getMessage().split()[1] for record in caplog.records]
    expected = ["event=login.throttled"]
    if kind == "wrong code":
        expected = ["event=mfa.challenge_failed", *expected]
    assert events == expected
