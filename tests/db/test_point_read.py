"""`PointRead`: a select sent straight to the driver answers as SQLAlchemy would, on each database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import JSON, Column, MetaData, Table, Uuid, bindparam, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.ext.asyncio.exc import AsyncContextNotStarted

from bastion.core import BastionSettings
from bastion.db import DatabaseUnavailableError, UTCDateTime, create_engine
from bastion.db import _point_read as point_read_module
from bastion.db._point_read import PointRead
from tests.db.conftest import temporary_database

_metadata = MetaData()
_grants = Table(
    "point_read_grants",
    _metadata,
    Column("id", Uuid(), primary_key=True),
    Column("roles", JSON(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)
_ROLES = PointRead(
    select(_grants.c.roles).where(
        _grants.c.id == bindparam("id"), _grants.c.expires_at > bindparam("now")
    )
)
_NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
async def grants(engine: AsyncEngine) -> AsyncEngine:
    """The test engine with the grants table created."""
    async with engine.begin() as connection:
        await connection.run_sync(_metadata.create_all)
    return engine


async def _grant(connection: AsyncConnection, roles: list[str], expires_at: datetime) -> uuid.UUID:
    grant_id = uuid.uuid4()
    await connection.execute(
        insert(_grants).values(id=grant_id, roles=roles, expires_at=expires_at)
    )
    return grant_id


async def test_it_converts_parameters_and_the_result_as_sqlalchemy_does(
    grants: AsyncEngine,
) -> None:
    async with grants.begin() as connection:
        live = await _grant(connection, ["admin", "editor"], _NOW + timedelta(seconds=1))
        gone = await _grant(connection, ["admin"], _NOW - timedelta(seconds=1))
    async with grants.connect() as connection:
        assert connection.dialect.driver in ("aiosqlite", "asyncpg")  # the direct way
        assert await _ROLES.scalar(connection, {"id": live, "now": _NOW}) == ["admin", "editor"]
        assert await _ROLES.scalar(connection, {"id": gone, "now": _NOW}) is None
        assert await _ROLES.scalar(connection, {"id": uuid.uuid4(), "now": _NOW}) is None
        result = await connection.execute(_ROLES.statement, {"id": live, "now": _NOW})
        assert result.scalar_one() == ["admin", "editor"]  # the same answer through SQLAlchemy


async def test_it_reads_inside_the_connections_transaction(grants: AsyncEngine) -> None:
    async with grants.connect() as connection:
        await connection.begin()
        written = await _grant(connection, ["reader"], _NOW + timedelta(days=1))
        assert await _ROLES.scalar(connection, {"id": written, "now": _NOW}) == ["reader"]
        await connection.rollback()
        assert await _ROLES.scalar(connection, {"id": written, "now": _NOW}) is None


async def test_a_connection_not_started_is_refused(grants: AsyncEngine) -> None:
    connection = grants.connect()  # not entered: no pooled connection beneath it
    with pytest.raises(AsyncContextNotStarted):
        await _ROLES.scalar(connection, {"id": uuid.uuid4(), "now": _NOW})


async def test_other_drivers_run_it_through_sqlalchemy(
    grants: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(point_read_module, "_DRIVERS", {})
    async with grants.begin() as connection:
        live = await _grant(connection, ["admin"], _NOW + timedelta(seconds=1))
        assert await _ROLES.scalar(connection, {"id": live, "now": _NOW}) == ["admin"]
        assert await _ROLES.scalar(connection, {"id": uuid.uuid4(), "now": _NOW}) is None


@pytest.mark.postgres
async def test_a_connection_lost_under_it_is_a_503_and_leaves_the_pool(
    settings: BastionSettings, tmp_path: Path, postgres_url: str
) -> None:
    async with temporary_database("postgres", settings, tmp_path, postgres_url) as db:
        await _terminated_under_the_read(create_engine(db))


async def _terminated_under_the_read(engine: AsyncEngine) -> None:
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_metadata.create_all)
        async with engine.connect() as connection, engine.connect() as admin:
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await connection.commit()
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            driver = (await connection.get_raw_connection()).driver_connection
            for _ in range(200):  # the server's goodbye reaches the driver (bounded: 2 s)
                if driver.is_closed():
                    break
                await asyncio.sleep(0.01)
            with pytest.raises(DatabaseUnavailableError):
                await _ROLES.scalar(connection, {"id": uuid.uuid4(), "now": _NOW})
            assert connection.invalidated  # the pool opens a new one for the next checkout
    finally:
        await engine.dispose()
