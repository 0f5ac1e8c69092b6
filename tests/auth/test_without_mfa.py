"""A host without multi-factor authentication: no MFA models, no MFA tables, no MFA routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI
from sqlalchemy import MetaData, inspect, update
from sqlalchemy.orm import DeclarativeBase

from bastion import Auth, create_app
from bastion.auth import RefreshSessionMixin, UserMixin
from bastion.core import BastionSettings
from bastion.db import NAMING_CONVENTION
from bastion.web import Resources
from tests.auth.conftest import PASSWORD, fast_settings
from tests.auth.models import RecoveryCode
from tests.conftest import serve


class PlainBase(DeclarativeBase):
    """Metadata holding only what a host without MFA declares."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class PlainUser(UserMixin, PlainBase):
    """Users."""

    __tablename__ = "users"


class PlainSession(RefreshSessionMixin, PlainBase):
    """Refresh sessions."""

    __tablename__ = "auth_sessions"


def _app(settings: BastionSettings) -> FastAPI:
    @asynccontextmanager
    async def create_tables(_app: FastAPI, resources: Resources) -> AsyncIterator[None]:
        assert resources.engine is not None
        async with resources.engine.begin() as connection:
            await connection.run_sync(PlainBase.metadata.create_all)
        yield

    auth = Auth(user=PlainUser, session=PlainSession)
    return create_app(fast_settings(settings), routers=[auth.router], lifespan=create_tables)


async def test_accounts_work_with_no_mfa_table_and_no_mfa_route(
    db_settings: BastionSettings,
) -> None:
    app = _app(db_settings)
    async with serve(app) as client:
        body = {"email": "ada@example.com", "password": PASSWORD}
        assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
        login = await client.post(
            "/api/v1/auth/login", data={"username": body["email"], "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        tokens = login.json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert (await client.get("/api/v1/auth/me", headers=bearer)).status_code == 200
        refreshed = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 200
        for path in ("/mfa/setup", "/mfa/enable", "/mfa/disable", "/mfa/verify"):
            response = await client.post(f"/api/v1/auth{path}", headers=bearer, json={})
            assert response.status_code == 404, path
        engine = app.state.resources.engine
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
    assert sorted(tables) == ["auth_sessions", "users"]
    assert not any("/mfa/" in path for path in app.openapi()["paths"])


async def test_an_account_marked_for_mfa_fails_closed_without_the_mfa_models(
    db_settings: BastionSettings,
) -> None:
    app = _app(db_settings)
    async with serve(app) as client:
        body = {"email": "eve@example.com", "password": PASSWORD}
        assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
        async with app.state.resources.engine.begin() as connection:
            await connection.execute(update(PlainUser).values(mfa_enabled=True))
        login = await client.post(
            "/api/v1/auth/login", data={"username": body["email"], "password": PASSWORD}
        )
    assert login.status_code == 409
    assert login.json()["error"]["code"] == "MFA_NOT_AVAILABLE"
    assert "access_token" not in login.text


def test_half_an_mfa_setup_is_refused() -> None:
    with pytest.raises(ValueError, match="both"):
        Auth(user=PlainUser, session=PlainSession, recovery_code=RecoveryCode)
    assert not Auth(user=PlainUser, session=PlainSession).models.mfa
