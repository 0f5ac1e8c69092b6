"""Notes fixtures: the app on a migrated, empty database (SQLite, then PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.db.conftest import temporary_database

from bastion import BastionSettings
from bastion.db import create_engine
from bastion.db.migrations import alembic_config, upgrade_database
from notes_app.config import NotesSettings
from notes_app.main import create_notes_app
from tests.conftest import TEST_SECRET, anyio_backend, postgres_url, serve

MIGRATIONS = "notes_app:migrations"
# The repository's shared fixtures, for this directory too.
__all__ = ["anyio_backend", "postgres_url"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[NotesSettings]:
    """Notes settings on an empty database, once per backend."""
    base = NotesSettings(environment="test", secret_key=TEST_SECRET, configure_logging=False)
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    async with temporary_database(request.param, base, tmp_path, url) as settings:
        assert isinstance(settings, NotesSettings)
        yield settings


@pytest.fixture
async def notes_settings(empty_db: NotesSettings) -> NotesSettings:
    """Notes settings on a database migrated to head."""
    await migrate(empty_db)
    return empty_db


async def migrate(settings: BastionSettings) -> None:
    """Apply the notes migrations, as `bastion db upgrade` does before the app starts."""
    engine = create_engine(settings)
    try:
        await upgrade_database(engine, alembic_config(MIGRATIONS))
    finally:
        await engine.dispose()


@pytest.fixture
async def client(notes_settings: NotesSettings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the notes app, inside its lifespan."""
    async with serve(create_notes_app(notes_settings)) as client:
        yield client
