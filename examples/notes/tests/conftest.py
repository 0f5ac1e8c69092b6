"""Notes fixtures: the app under `bastion.testing`, and databases of their own where needed.

Most tests take `client` (or the plugin's `bastion_*` fixtures): the notes app in
its lifespan, on a database migrated once per session, each test's writes rolled
back. Tests whose work must be committed (a command run beside the app, an
outage through a proxy, the migrations themselves) take `notes_settings`: a
fresh database migrated for that test alone.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from tests.db.conftest import temporary_database

from bastion.core import BastionSettings
from bastion.db import create_engine
from bastion.db.migrations import alembic_config, upgrade_database
from bastion.testing import ClientFactory, UserFactory
from notes_app.config import NotesSettings
from notes_app.main import create_notes_app
from tests.conftest import (
    TEST_SECRET,
    _clear_of_a_minute_boundary,
    anyio_backend,
    postgres_url,
    redis_url,
    serve,
)

MIGRATIONS = "notes_app:migrations"
# The repository's shared fixtures, for this directory too.
__all__ = ["_clear_of_a_minute_boundary", "anyio_backend", "postgres_url", "redis_url"]
# A host gets the plugin from its entry point; this repository turns that off to measure
# its coverage (pyproject.toml) and loads it here, so `pytest examples/notes/tests` has it.
pytest_plugins = ["bastion.testing"]

OWNER = "owner@example.com"
PASSWORD = "correct horse battery staple"  # a test-only password


@pytest.fixture
def bastion_base_settings() -> NotesSettings:
    """The notes app's settings, before the plugin points them at the test database."""
    return NotesSettings(environment="test", secret_key=TEST_SECRET, configure_logging=False)


@pytest.fixture
def bastion_app_factory() -> Callable[[NotesSettings], FastAPI]:
    """How the plugin builds the app under test."""
    return create_notes_app


@pytest.fixture
def bastion_migrations() -> str:
    """The notes migrations, applied once per session and backend."""
    return MIGRATIONS


@pytest.fixture
async def client(
    bastion_user_factory: UserFactory, bastion_client_factory: ClientFactory
) -> httpx.AsyncClient:
    """A client of the notes app, logged in as `OWNER`, on the test's rolled-back database."""
    owner = await bastion_user_factory(OWNER, password=PASSWORD)
    return await bastion_client_factory(owner)


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
    """Notes settings on a database of this test's own, migrated to head (cheap argon2)."""
    await migrate(empty_db)
    return empty_db.model_copy(
        update={
            "password_hash_time_cost": 1,
            "password_hash_memory_cost": 8,
            "password_hash_parallelism": 1,
            "ratelimit_key_prefix": f"notes{uuid.uuid4().hex[:8]}",
        }
    )


@pytest.fixture
async def committed_client(notes_settings: NotesSettings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the notes app on a database of this test's own, logged in as `OWNER`.

    For work that must really commit: events and jobs delivered after the
    commit run on connections of their own, which see committed rows only.
    """
    async with serve(create_notes_app(notes_settings)) as client:
        client.headers["Authorization"] = f"Bearer {await sign_up(client, OWNER)}"
        yield client


async def migrate(settings: BastionSettings) -> None:
    """Apply the notes migrations, as `bastion db upgrade` does before the app starts."""
    engine = create_engine(settings)
    try:
        await upgrade_database(engine, alembic_config(MIGRATIONS))
    finally:
        await engine.dispose()


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
