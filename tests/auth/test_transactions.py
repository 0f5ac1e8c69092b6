"""An auth error persists nothing but the security state that must outlive it; no-store always."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import Depends

from bastion import create_app
from bastion.auth import Auth, require_roles
from bastion.core import BastionSettings
from bastion.db import UnitOfWork
from bastion.errors import NotFoundError, PermissionDeniedError, ServiceUnavailableError
from tests.auth.conftest import (
    PASSWORD,
    AppFactory,
    AuthApp,
    RecordingHooks,
    bearer,
    create_tables,
    fast_settings,
    login,
    register,
    tokens,
)
from tests.auth.models import MODELS
from tests.auth.test_mfa import _enable, _totp
from tests.conftest import serve

AUTH = "/api/v1/auth"
NEW_PASSWORD = "a brand new passphrase for us all"
#: A hook refusing the step (a host rule) and a hook that breaks (a host bug).
FAILURES = [
    pytest.param(lambda: PermissionDeniedError("Refused by a hook."), 403, id="veto"),
    pytest.param(lambda: RuntimeError("hook bug"), 500, id="bug"),
]
Failure = Callable[[], Exception]


def _code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def _set_active(built: AuthApp, email: str, *, active: bool) -> None:
    """Flip `is_active` alone (sessions untouched), as a host's own admin tool might."""
    resources = built.app.state.resources
    async with UnitOfWork(resources.sessionmaker) as uow:
        service = resources.auth.accounts(uow, resources.limiter)
        user = await service.repo.user_by_email(email)
        assert user is not None
        await service.repo.update_user(user.id, resources.auth.now(), is_active=active)


@pytest.mark.parametrize(("failure", "status"), FAILURES)
async def test_a_failing_after_register_hook_leaves_no_account(
    make_app: AppFactory, failure: Failure, status: int
) -> None:
    built = make_app()
    built.hooks.failing["register"] = failure()
    async with serve(built.app) as client:
        failed = await client.post(
            f"{AUTH}/register", json={"email": "ada@example.com", "password": PASSWORD}
        )
        assert failed.status_code == status
        assert (await login(client)).status_code == 401
        built.hooks.failing.clear()
        await register(client)  # the e-mail was never taken
        assert (await login(client)).status_code == 200


async def test_a_refresh_refused_for_an_inactive_user_does_not_spend_the_token(
    make_app: AppFactory,
) -> None:
    built = make_app()
    async with serve(built.app) as client:
        await register(client)
        pair = await tokens(client)
        await _set_active(built, "ada@example.com", active=False)
        refused = await client.post(
            f"{AUTH}/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert refused.status_code == 401
        assert _code(refused) == "INVALID_TOKEN"
        await _set_active(built, "ada@example.com", active=True)
        again = await client.post(f"{AUTH}/refresh", json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 200, again.text


@pytest.mark.parametrize(("failure", "status"), FAILURES)
async def test_a_failing_password_change_hook_keeps_the_old_password_and_sessions(
    make_app: AppFactory, failure: Failure, status: int
) -> None:
    built = make_app()
    async with serve(built.app) as client:
        await register(client)
        laptop = await tokens(client)
        phone = await tokens(client)
        built.hooks.failing["password_change"] = failure()
        failed = await client.post(
            f"{AUTH}/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=bearer(laptop["access_token"]),
        )
        assert failed.status_code == status
        built.hooks.failing.clear()
        assert (await login(client, password=NEW_PASSWORD)).status_code == 401
        assert (await login(client)).status_code == 200
        me = await client.get(f"{AUTH}/me", headers=bearer(phone["access_token"]))
    assert me.status_code == 200  # the other sessions were not revoked either


@pytest.mark.parametrize(("failure", "status"), FAILURES)
async def test_a_failing_after_login_hook_issues_no_session(
    make_app: AppFactory, failure: Failure, status: int
) -> None:
    built = make_app()
    async with serve(built.app) as client:
        await register(client)
        built.hooks.failing["login"] = failure()
        assert (await login(client)).status_code == status
        resources = built.app.state.resources
        async with UnitOfWork(resources.sessionmaker) as uow:
            service = resources.auth.accounts(uow, resources.limiter)
            user = await service.repo.user_by_email("ada@example.com")
            assert user is not None
            live = await service.repo.revoke_families(resources.auth.now(), user_id=user.id)
    assert live == 0  # no refresh session row was kept


async def test_a_reused_refresh_token_revokes_its_family_even_when_the_hook_fails(
    make_app: AppFactory,
) -> None:
    built = make_app()
    async with serve(built.app) as client:
        await register(client)
        first = await tokens(client)
        second = (
            await client.post(f"{AUTH}/refresh", json={"refresh_token": first["refresh_token"]})
        ).json()
        built.hooks.failing["token_reuse"] = RuntimeError("hook bug")
        reuse = await client.post(f"{AUTH}/refresh", json={"refresh_token": first["refresh_token"]})
        assert reuse.status_code == 500
        built.hooks.failing.clear()
        newest = await client.post(
            f"{AUTH}/refresh", json={"refresh_token": second["refresh_token"]}
        )
        me = await client.get(f"{AUTH}/me", headers=bearer(second["access_token"]))
    assert _code(newest) == "INVALID_TOKEN"
    assert _code(me) == "INVALID_TOKEN"


@pytest.mark.parametrize(("failure", "status"), FAILURES)
async def test_a_totp_step_spent_by_a_login_that_then_fails_stays_spent(
    make_app: AppFactory, failure: Failure, status: int
) -> None:
    built = make_app()
    async with serve(built.app) as client:
        secret, _, _ = await _enable(built, client)
        code = _totp(built, secret)
        built.hooks.failing["login"] = failure()
        mfa_token = (await login(client)).json()["mfa_token"]
        failed = await client.post(
            f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": code}
        )
        assert failed.status_code == status
        built.hooks.failing.clear()
        replay = await client.post(
            f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": code}
        )
        assert _code(replay) == "INVALID_MFA_CODE"
        built.clock.advance(30)
        ok = await client.post(
            f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": _totp(built, secret)}
        )
    assert ok.status_code == 200, ok.text  # the challenge itself was not spent


async def _unavailable() -> None:
    raise ServiceUnavailableError("Down for maintenance.", headers={"Retry-After": "5"})


async def _missing() -> None:
    raise NotFoundError()


@pytest.fixture
async def bare_client(db_settings: BastionSettings) -> AsyncIterator[httpx.AsyncClient]:
    """An auth app whose security-headers layer is off, so only the auth routes add no-store."""
    settings = fast_settings(db_settings, security_headers_enabled=False, auth_cookie_mode=False)
    router = Auth(
        **MODELS,
        hooks=RecordingHooks(),
        dependencies={
            "me": [require_roles("admin")],
            "mfa_setup": [Depends(_missing)],
            "logout": [Depends(_unavailable)],
        },
    ).router
    app = create_app(settings, routers=[router], lifespan=create_tables)
    async with serve(app) as client:
        yield client


async def test_every_auth_response_errors_included_is_never_cached(
    bare_client: httpx.AsyncClient,
) -> None:
    client = bare_client
    await register(client)
    access = (await tokens(client))["access_token"]
    responses = {
        "201": await client.post(
            f"{AUTH}/register", json={"email": "bob@example.com", "password": PASSWORD}
        ),
        "401": await login(client, password="not the password"),
        "403": await client.get(f"{AUTH}/me", headers=bearer(access)),
        "404": await client.post(f"{AUTH}/mfa/setup", headers=bearer(access)),
        "409": await client.post(
            f"{AUTH}/register", json={"email": "ada@example.com", "password": PASSWORD}
        ),
        "422": await client.post(
            f"{AUTH}/register",
            content=b'{"email": ',
            headers={"Content-Type": "application/json"},
        ),
        "503": await client.post(f"{AUTH}/logout", json={"refresh_token": "x"}),
    }
    for _ in range(5):
        await login(client, "carol@example.com", "wrong password")
    responses["429"] = await login(client, "carol@example.com", "wrong password")
    for status, response in responses.items():
        assert str(response.status_code) == status, (status, response.text)
        assert response.headers["cache-control"] == "no-store", status
        assert response.headers["pragma"] == "no-cache", status
