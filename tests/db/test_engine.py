"""The engine from settings: SQLite pragmas, PostgreSQL schema, readiness, unavailability."""

from __future__ import annotations

import secrets
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from bastion import create_app
from bastion.core import BastionSettings
from bastion.db import (
    DatabaseUnavailableError,
    UnitOfWork,
    create_engine,
    create_sessionmaker,
    is_sqlite,
    translate_errors,
)
from tests.conftest import serve
from tests.db.models import TestBase, WidgetIn, WidgetRepository

CLOSED_PORT_URL = SecretStr("postgresql+asyncpg://postgres@127.0.0.1:9/nothing")


async def test_sqlite_connections_get_foreign_keys_wal_and_the_busy_timeout(
    settings: BastionSettings, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    engine = create_engine(
        settings.model_copy(update={"database_url": SecretStr(url), "sqlite_busy_timeout": 1234})
    )
    try:
        async with engine.connect() as connection:
            pragmas = [
                (await connection.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("foreign_keys", "journal_mode", "busy_timeout")
            ]
    finally:
        await engine.dispose()
    assert pragmas == [1, "wal", 1234]


async def test_an_in_memory_sqlite_database_is_shared_by_every_session(
    settings: BastionSettings,
) -> None:
    engine = create_engine(
        settings.model_copy(update={"database_url": SecretStr("sqlite+aiosqlite://")})
    )
    try:
        async with engine.begin() as connection:
            await connection.run_sync(TestBase.metadata.create_all)
        maker = create_sessionmaker(engine)
        async with UnitOfWork(maker) as uow:
            await WidgetRepository(uow.session).add(WidgetIn(name="bolt"))
        async with UnitOfWork(maker) as uow:
            assert await WidgetRepository(uow.session).count() == 1
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_the_postgres_schema_setting_is_the_whole_search_path(
    settings: BastionSettings, postgres_url: str
) -> None:
    """Nothing falls back to `public`: not a table of another app, not its Alembic version."""
    schema = f"bastion_own_{secrets.token_hex(4)}"
    public_table = f"bastion_public_{secrets.token_hex(4)}"
    admin = create_async_engine(postgres_url, poolclass=NullPool)
    configured = settings.model_copy(
        update={"database_url": SecretStr(postgres_url), "database_schema": schema}
    )
    engine = create_engine(configured)
    try:
        async with admin.begin() as connection:
            await connection.execute(text(f"CREATE SCHEMA {schema}"))
            await connection.execute(text(f"CREATE TABLE public.{public_table} (id int)"))
        async with engine.begin() as connection:
            path = (await connection.execute(text("SHOW search_path"))).scalar_one()
            found = await connection.execute(text(f"SELECT to_regclass('{public_table}')"))
            assert found.scalar_one() is None
            await connection.execute(text(f"CREATE TABLE {public_table} (id int)"))
            created = await connection.execute(
                text("SELECT table_schema FROM information_schema.tables WHERE table_name = :name"),
                {"name": public_table},
            )
            assert sorted(created.scalars()) == sorted([schema, "public"])
    finally:
        await engine.dispose()
        async with admin.begin() as connection:
            await connection.execute(text(f"DROP TABLE IF EXISTS public.{public_table}"))
            await connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        await admin.dispose()
    assert path == schema


def test_is_sqlite_tells_backends_apart() -> None:
    assert is_sqlite("sqlite+aiosqlite:///x.db")
    assert not is_sqlite("postgresql+asyncpg://u@h/db")


async def test_ready_fails_when_the_database_cannot_be_reached(settings: BastionSettings) -> None:
    app = create_app(settings.model_copy(update={"database_url": CLOSED_PORT_URL}), database=True)
    async with serve(app) as client:
        response = await client.get("/ready")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"  # as every other 503 of an outage
    assert "database" in response.text


async def test_an_unreachable_database_is_a_503_not_a_500(settings: BastionSettings) -> None:
    engine = create_engine(settings.model_copy(update={"database_url": CLOSED_PORT_URL}))
    try:
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            with pytest.raises(DatabaseUnavailableError) as caught:
                await WidgetRepository(uow.session).count()
    finally:
        await engine.dispose()
    assert caught.value.status_code == 503
    assert caught.value.headers == {"Retry-After": "1"}


async def test_a_locked_sqlite_database_is_a_503(settings: BastionSettings, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'locked.db'}"
    engine = create_engine(
        settings.model_copy(update={"database_url": SecretStr(url), "sqlite_busy_timeout": 0})
    )
    try:
        async with engine.begin() as connection:
            await connection.run_sync(TestBase.metadata.create_all)
        maker = create_sessionmaker(engine)
        async with UnitOfWork(maker) as holder:
            await WidgetRepository(holder.session).add(WidgetIn(name="a"))
            async with UnitOfWork(maker) as blocked:
                with pytest.raises(DatabaseUnavailableError):
                    await WidgetRepository(blocked.session).add(WidgetIn(name="b"))
    finally:
        await engine.dispose()


async def test_a_closed_sqlite_connection_at_begin_is_a_503(
    settings: BastionSettings, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'closed.db'}"
    engine = create_engine(settings.model_copy(update={"database_url": SecretStr(url)}))
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            await raw.driver_connection.close()
            with pytest.raises(DatabaseUnavailableError), translate_errors():
                await connection.begin()
    finally:
        await engine.dispose()


async def test_other_driver_errors_pass_through_untranslated(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        with pytest.raises(DBAPIError), translate_errors():
            await uow.session.execute(text("SELECT * FROM no_such_table"))


@pytest.mark.postgres
async def test_connections_opened_under_load_stay_in_the_pool(
    settings: BastionSettings, postgres_url: str
) -> None:
    # Opening a PostgreSQL connection costs the worker milliseconds of CPU: a burst that
    # needs every connection the pool allows must find, the second time, the ones the
    # first opened, not new ones (docs/deployment.md, "The connection pool").
    configured = settings.model_copy(update={"database_url": SecretStr(postgres_url)})
    engine = create_engine(configured)
    burst = configured.database_pool_size + configured.database_max_overflow

    async def backends() -> set[int]:
        async with AsyncExitStack() as stack:
            connections = [await stack.enter_async_context(engine.connect()) for _ in range(burst)]
            query = text("SELECT pg_backend_pid()")
            return {(await c.execute(query)).scalar_one() for c in connections}

    try:
        first = await backends()
        second = await backends()
    finally:
        await engine.dispose()
    assert len(first) == burst
    assert second == first
