"""Where the auth feature lives: started before the host's lifespan, reached under any prefix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from bastion import create_app
from bastion.auth import REFRESH_COOKIE, Auth, AuthRuntime
from bastion.core import BastionSettings
from bastion.db import UnitOfWork
from bastion.web import Resources
from tests.auth.conftest import PASSWORD, Clock, create_tables, fast_settings
from tests.auth.models import MODELS


async def test_the_host_lifespan_starts_after_the_auth_feature_and_stops_before_it(
    db_settings: BastionSettings,
) -> None:
    seen: list[object] = []

    @asynccontextmanager
    async def host(app: FastAPI, resources: Resources) -> AsyncIterator[None]:
        seen.append(resources.auth)
        async with create_tables(app, resources):
            # A host seeds its first account at start-up, with the running auth feature.
            assert resources.auth is not None
            assert resources.sessionmaker is not None
            async with UnitOfWork(resources.sessionmaker) as uow:
                service = resources.auth.accounts(uow, resources.limiter)
                await service.create_user("root@example.com", PASSWORD, roles=["admin"])
            yield
        seen.append(resources.auth)

    router = Auth(**MODELS, clock=Clock()).router
    app = create_app(fast_settings(db_settings), routers=[router], lifespan=host)
    async with app.router.lifespan_context(app):
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        async with client:
            login = await client.post(
                "/api/v1/auth/login", data={"username": "root@example.com", "password": PASSWORD}
            )
        assert login.status_code == 200, login.text
    assert len(seen) == 2
    assert all(isinstance(state, AuthRuntime) for state in seen)


def _nested(auth: Auth) -> APIRouter:
    accounts = APIRouter(prefix="/accounts")
    accounts.include_router(auth.router, prefix="/v2")
    return accounts


@pytest.mark.parametrize(
    ("root_path", "base"),
    [
        ("", "/api/v1/accounts/v2/session"),
        ("/gateway", "/gateway/api/v1/accounts/v2/session"),
    ],
)
async def test_the_refresh_cookie_path_is_the_auth_routes_as_mounted(
    db_settings: BastionSettings, root_path: str, base: str
) -> None:
    auth = Auth(**MODELS, clock=Clock(), prefix="/session")
    settings = fast_settings(db_settings, auth_cookie_mode=True)
    app = create_app(settings, routers=[_nested(auth)], lifespan=create_tables)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, root_path=root_path)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            created = await client.post(
                f"{base}/register", json={"email": "ada@example.com", "password": PASSWORD}
            )
            assert created.status_code == 201, created.text
            login = await client.post(
                f"{base}/login", data={"username": "ada@example.com", "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            refresh_cookie = next(
                c
                for c in login.headers.get_list("set-cookie")
                if c.startswith(f"{REFRESH_COOKIE}=")
            )
            assert f"Path={base};" in refresh_cookie  # /refresh and /logout
            csrf = login.json()["csrf_token"]
            refreshed = await client.post(f"{base}/refresh", headers={"X-CSRF-Token": csrf})
            assert refreshed.status_code == 200, refreshed.text
            csrf = refreshed.json()["csrf_token"]
            out = await client.post(f"{base}/logout", headers={"X-CSRF-Token": csrf})
            assert out.status_code == 204, out.text
            cleared = next(
                c for c in out.headers.get_list("set-cookie") if c.startswith(f"{REFRESH_COOKIE}=")
            )
            assert f"Path={base};" in cleared
            assert client.cookies.get(REFRESH_COOKIE) is None
