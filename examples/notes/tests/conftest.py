"""Notes fixtures: the app on a migrated, empty database (SQLite, then PostgreSQL)."""

from __future__ import annotations

import uuid
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
    """Notes settings on a database migrated to head (with cheap argon2 for speed)."""
    await migrate(empty_db)
    return empty_db.model_copy(
        update={
            "password_hash_time_cost": 1,
            "password_hash_memory_cost": 8,
            "password_hash_parallelism": 1,
            "ratelimit_key_prefix": f"notes{uuid.uuid4().hex[:8]}",
        }
    )


async def migrate(settings: BastionSettings) -> None:
    """Apply the notes migrations, as `bastion db upgrade` does before the app starts."""
    engine = create_engine(settings)
    try:
        await upgrade_database(engine, alembic_config(MIGRATIONS))
    finally:
        await engine.dispose()


@pytest.fixture
async def client(notes_settings: NotesSettings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the notes app, inside its lifespan, logged in as a fresh user."""
    async with serve(create_notes_app(notes_settings)) as client:
        client.headers["Authorization"] = f"Bearer {await sign_up(client, OWNER)}"
        yield client


OWNER = "owner@example.com"
PASSWORD = "correct horse battery staple"  # a test-only password


async def sign_up(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Register `email` and log in; return the access token."""
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": password}
    )
    assert registered.status_code == 201, registered.text
    response = await client.post(
        "/api/v1/auth/login", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token
