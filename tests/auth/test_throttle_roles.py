"""Login throttling per (client IP, account), roles, scopes and password changes."""

from __future__ import annotations

import httpx
import pytest

from tests.auth.conftest import PASSWORD, AppFactory, AuthApp, bearer, login, register, tokens
from tests.conftest import serve

Client = tuple[AuthApp, httpx.AsyncClient]
WRONG = "definitely not the password"


def _code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def _throttle_scenario(client: httpx.AsyncClient, other_ip: httpx.AsyncClient) -> None:
    await register(client)
    await register(client, "bob@example.com")
    statuses = [(await login(client, "ada@example.com", WRONG)).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    blocked = await login(client, "ada@example.com", PASSWORD)
    assert blocked.status_code == 429
    assert _code(blocked) == "RATE_LIMITED"
    assert int(blocked.headers["retry-after"]) >= 1
    assert (await login(client, "bob@example.com", PASSWORD)).status_code == 200
    assert (await login(other_ip, "ada@example.com", PASSWORD)).status_code == 200


@pytest.mark.parametrize("storage", ["memory", "redis"])
async def test_login_is_throttled_per_ip_and_username(
    make_app: AppFactory, storage: str, request: pytest.FixtureRequest
) -> None:
    changes: dict[str, object] = {}
    if storage == "redis":
        changes["ratelimit_storage_url"] = request.getfixturevalue("redis_url")
    built = make_app(**changes)
    async with serve(built.app) as client:
        transport = httpx.ASGITransport(app=built.app, client=("203.0.113.7", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
            await _throttle_scenario(client, other)


async def test_unknown_emails_are_throttled_alike(auth: Client) -> None:
    _, client = auth
    statuses = [(await login(client, "ghost@example.com", WRONG)).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]


async def test_a_successful_login_clears_the_failures(auth: Client) -> None:
    _, client = auth
    await register(client)
    for _ in range(4):
        await login(client, "ada@example.com", WRONG)
    assert (await login(client)).status_code == 200
    statuses = [(await login(client, "ada@example.com", WRONG)).status_code for _ in range(5)]
    assert statuses == [401] * 5


async def test_roles_gate_routes_with_403(make_app: AppFactory) -> None:
    built = make_app()
    async with serve(built.app) as client:
        await register(client)
        user_access = (await tokens(client))["access_token"]
        denied = await client.get("/api/v1/admin-only", headers=bearer(user_access))
        assert denied.status_code == 403
        assert _code(denied) == "FORBIDDEN"
        assert (await client.get("/api/v1/admin-only")).status_code == 401
        await _make_admin(built, "ada@example.com")
        allowed = await client.get("/api/v1/admin-only", headers=bearer(user_access))
        assert allowed.status_code == 200  # live mode reads roles from the database


async def _make_admin(built: AuthApp, email: str) -> None:
    from bastion.db import UnitOfWork

    resources = built.app.state.resources
    async with UnitOfWork(resources.sessionmaker) as uow:
        service = resources.auth.accounts(uow, resources.limiter)
        user = await service.repo.user_by_email(email)
        assert user is not None
        await service.repo.update_user(user.id, service.runtime.now(), roles=["admin"])


async def test_scopes_come_from_the_token(auth: Client) -> None:
    _, client = auth
    await register(client)
    access = (await tokens(client))["access_token"]
    assert (await client.get("/api/v1/scoped", headers=bearer(access))).status_code == 200
    over = await client.get("/api/v1/over-scoped", headers=bearer(access))
    assert over.status_code == 403
    assert _code(over) == "FORBIDDEN"


async def test_password_change_revokes_other_sessions(auth: Client) -> None:
    built, client = auth
    await register(client)
    here = (await tokens(client))["access_token"]
    elsewhere = await tokens(client)
    wrong = await client.post(
        "/api/v1/auth/password",
        json={"current_password": WRONG, "new_password": "a brand new passphrase"},
        headers=bearer(here),
    )
    assert wrong.status_code == 401
    assert _code(wrong) == "INVALID_CREDENTIALS"
    weak = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=bearer(here),
    )
    assert _code(weak) == "WEAK_PASSWORD"
    ok = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        headers=bearer(here),
    )
    assert ok.status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=bearer(here))).status_code == 200
    gone = await client.get("/api/v1/auth/me", headers=bearer(elsewhere["access_token"]))
    assert _code(gone) == "INVALID_TOKEN"
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": elsewhere["refresh_token"]}
    )
    assert _code(refresh) == "INVALID_TOKEN"
    assert (await login(client)).status_code == 401
    assert (await login(client, password="a brand new passphrase")).status_code == 200
    assert "password_change" in built.hooks.names()
