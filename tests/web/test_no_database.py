"""An app that uses no database opens none: no engine, no SQLite file, no readiness check."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter

from bastion import Auth, create_app
from bastion.core import BastionSettings
from bastion.web import Resources, Uow
from tests.auth.models import MODELS
from tests.conftest import TEST_SECRET, serve


def _plain_router() -> APIRouter:
    router = APIRouter()

    @router.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    return router


def _uow_router() -> APIRouter:
    inner = APIRouter(prefix="/inner")

    @inner.get("/count")
    async def count(uow: Uow) -> dict[str, bool]:
        return {"open": uow.session is not None}

    outer = APIRouter(prefix="/outer")
    outer.include_router(inner)
    return outer


@pytest.fixture
def default_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BastionSettings:
    """Settings with the default database URL (`./bastion.db`), run in an empty directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    return BastionSettings(environment="test", secret_key=TEST_SECRET, configure_logging=False)


def _database_files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.glob("bastion.db*"))


async def test_an_app_without_database_routes_opens_no_database(
    default_settings: BastionSettings, tmp_path: Path
) -> None:
    app = create_app(default_settings, routers=[_plain_router()])
    async with serve(app) as client:
        resources: Resources = app.state.resources
        assert (resources.engine, resources.sessionmaker) == (None, None)
        assert (await client.get("/api/v1/ping")).json() == {"pong": "yes"}
        ready = await client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {}
    assert _database_files(tmp_path) == []


async def test_a_route_using_the_unit_of_work_opens_the_database(
    default_settings: BastionSettings, tmp_path: Path
) -> None:
    app = create_app(default_settings, routers=[_plain_router(), _uow_router()])
    async with serve(app) as client:
        assert app.state.resources.engine is not None
        assert (await client.get("/api/v1/outer/inner/count")).json() == {"open": True}
        assert (await client.get("/ready")).json()["checks"] == {"database": "ok"}
    assert "bastion.db" in _database_files(tmp_path)


async def test_the_auth_routes_open_the_database(default_settings: BastionSettings) -> None:
    app = create_app(default_settings, routers=[Auth(**MODELS).router])
    async with serve(app):
        assert app.state.resources.engine is not None


async def test_database_can_be_forced_on_or_off(
    default_settings: BastionSettings, tmp_path: Path
) -> None:
    forced_on = create_app(default_settings, database=True)
    async with serve(forced_on) as client:
        assert (await client.get("/ready")).json()["checks"] == {"database": "ok"}
    forced_off = create_app(default_settings, routers=[_uow_router()], database=False)
    async with serve(forced_off) as client:
        refused = await client.get("/api/v1/outer/inner/count")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
