"""Persistence fixtures: one database per test, on SQLite and on PostgreSQL (own schema)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from bastion.core import BastionSettings
from bastion.db import create_engine, create_sessionmaker
from tests.db.models import TestBase


@asynccontextmanager
async def temporary_database(
    kind: str, settings: BastionSettings, tmp_path: Path, postgres_url: str | None = None
) -> AsyncIterator[BastionSettings]:
    """Yield `settings` pointing at an empty database: a new SQLite file or PostgreSQL schema.

    The PostgreSQL schema has a random name, is put first on `search_path`, and
    only it is dropped afterwards, so parallel runs on one server never meet.
    """
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        yield settings.model_copy(update={"database_url": SecretStr(url)})
        return
    assert postgres_url is not None
    schema = f"bastion_test_{secrets.token_hex(6)}"
    admin = create_async_engine(postgres_url, poolclass=NullPool)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield settings.model_copy(
            update={"database_url": SecretStr(postgres_url), "database_schema": schema}
        )
    finally:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_settings(
    request: pytest.FixtureRequest, tmp_path: Path, settings: BastionSettings
) -> AsyncIterator[BastionSettings]:
    """Settings on an empty database, once on SQLite and once on PostgreSQL."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    async with temporary_database(request.param, settings, tmp_path, url) as db:
        yield db


@pytest.fixture
async def engine(db_settings: BastionSettings) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database with the test tables created."""
    engine = create_engine(db_settings)
    async with engine.begin() as connection:
        await connection.run_sync(TestBase.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory over `engine`."""
    return create_sessionmaker(engine)
