"""Jobs fixtures: settings on an empty database with the jobs tables, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bastion.core import BastionSettings
from bastion.db import create_engine
from tests.db.conftest import temporary_database
from tests.db.models import TestBase
from tests.jobs.app import Calls


@asynccontextmanager
async def _with_tables(
    kind: str, settings: BastionSettings, tmp_path: Path, postgres_url: str | None = None
) -> AsyncIterator[BastionSettings]:
    async with temporary_database(kind, settings, tmp_path, postgres_url) as db:
        engine = create_engine(db)
        async with engine.begin() as connection:
            await connection.run_sync(TestBase.metadata.create_all)
        await engine.dispose()
        yield db


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def jobs_settings(
    request: pytest.FixtureRequest, tmp_path: Path, settings: BastionSettings
) -> AsyncIterator[BastionSettings]:
    """Settings on an empty database holding the test tables, once per backend."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    async with _with_tables(request.param, settings, tmp_path, url) as db:
        yield db


@pytest.fixture
async def sqlite_jobs_settings(
    tmp_path: Path, settings: BastionSettings
) -> AsyncIterator[BastionSettings]:
    """The test tables on SQLite alone: for faults of Redis, which the database does not change."""
    async with _with_tables("sqlite", settings, tmp_path) as db:
        yield db


@pytest.fixture
def calls() -> Calls:
    """What the test app's handlers saw."""
    return Calls()
