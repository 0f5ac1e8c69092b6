"""The pytest hooks and `bastion_*` fixtures; nothing happens until a test asks for one."""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI
from sqlalchemy import MetaData

from bastion._resources import Resources
from bastion.core import BastionSettings
from bastion.db import Base
from bastion.testing._app import AppFactory, TestApp, UowFactory, running_app
from bastion.testing._clock import ManualClock
from bastion.testing._database import BACKENDS, DatabaseRegistry, TestDatabase, database_registry
from bastion.testing._settings import settings_with, with_fast_hashing
from bastion.testing._users import ClientFactory, UserFactory

if TYPE_CHECKING:  # the clients come from `TestApp.client`, which imports httpx
    import httpx

__all__ = [
    "bastion_app",
    "bastion_app_factory",
    "bastion_backend",
    "bastion_base_settings",
    "bastion_client",
    "bastion_client_factory",
    "bastion_clock",
    "bastion_database",
    "bastion_metadata",
    "bastion_migrations",
    "bastion_postgres_url",
    "bastion_redis_url",
    "bastion_resources",
    "bastion_settings",
    "bastion_settings_overrides",
    "bastion_test_app",
    "bastion_test_databases",
    "bastion_uow",
    "bastion_user_factory",
    "pytest_addoption",
    "pytest_configure",
    "pytest_generate_tests",
]

# A key of the test environment only: long enough for every check, never a secret.
_TEST_KEY = "bastion-testing-key-0123456789-abcdefghijklmnopqrstuvwxyz"
_MARKER = "bastion_settings"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the plugin's ini options."""
    parser.addini(
        "bastion_databases",
        type="args",
        default=list(BACKENDS),
        help="bastion.testing: backends every database test runs on (sqlite postgres).",
    )
    parser.addini(
        "bastion_migrations",
        default="",
        help="bastion.testing: Alembic migrations applied once per session (package:dir); "
        "empty creates the tables of bastion.db.Base.metadata instead.",
    )
    parser.addini(
        "bastion_app_factory",
        default="",
        help="bastion.testing: module:callable building the app from settings.",
    )
    parser.addini(
        "bastion_fast_hashing",
        type="bool",
        default=True,
        help="bastion.testing: cheapest Argon2id parameters in tests (refused in production).",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the plugin's markers (`--strict-markers` accepts them)."""
    config.addinivalue_line(
        "markers", f"{_MARKER}(**changes): settings changes for this test's app (bastion.testing)"
    )
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server")
    config.addinivalue_line("markers", "redis: needs a Redis server")
    names = list(config.getini("bastion_databases"))
    unknown = sorted(set(names) - set(BACKENDS))
    if unknown or not names:
        raise pytest.UsageError(f"bastion_databases: use some of {BACKENDS}, not {unknown}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each test that uses the database once per backend in `bastion_databases`."""
    if "bastion_backend" not in metafunc.fixturenames:
        return
    params = [
        pytest.param(name, id=name, marks=[pytest.mark.postgres] if name == "postgres" else [])
        for name in metafunc.config.getini("bastion_databases")
    ]
    metafunc.parametrize("bastion_backend", params, indirect=True, scope="session")


def _service_url(variable: str, what: str) -> str:
    url = os.environ.get(variable)
    if url:
        return url
    message = f"{what} test: set {variable} to run it"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (it is required in CI)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def bastion_postgres_url() -> str:
    """PostgreSQL from `BASTION_TEST_DATABASE_URL`; the test is skipped without it (fails in CI)."""
    return _service_url("BASTION_TEST_DATABASE_URL", "PostgreSQL")


@pytest.fixture(scope="session")
def bastion_redis_url() -> str:
    """Redis from `BASTION_TEST_REDIS_URL`; the test is skipped without it (fails in CI)."""
    return _service_url("BASTION_TEST_REDIS_URL", "Redis")


@pytest.fixture(scope="session")
def bastion_backend(request: pytest.FixtureRequest) -> str:
    """The backend this test runs on (`"sqlite"` or `"postgres"`), one per `bastion_databases`."""
    return str(getattr(request, "param", BACKENDS[0]))


@pytest.fixture(scope="session")
def bastion_test_databases(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DatabaseRegistry]:
    """The session's databases, created and migrated on first use, dropped at the end."""
    with database_registry(tmp_path_factory.mktemp("bastion")) as registry:
        yield registry


@pytest.fixture
def bastion_migrations(pytestconfig: pytest.Config) -> str | None:
    """The Alembic migrations location (`package:dir`); None creates `bastion_metadata`'s tables.

    From the `bastion_migrations` ini option; override the fixture to choose per directory.
    """
    location = str(pytestconfig.getini("bastion_migrations"))
    return location or None


@pytest.fixture
def bastion_metadata() -> MetaData:
    """The tables created when there are no migrations: `bastion.db.Base.metadata`."""
    return Base.metadata


@pytest.fixture
def bastion_database(
    request: pytest.FixtureRequest,
    bastion_backend: str,
    bastion_test_databases: DatabaseRegistry,
    bastion_migrations: str | None,
    bastion_metadata: MetaData,
) -> TestDatabase:
    """The migrated database of this test's backend (built once per session and schema)."""
    url = request.getfixturevalue("bastion_postgres_url") if bastion_backend == "postgres" else None
    return bastion_test_databases.get(
        bastion_backend, migrations=bastion_migrations, metadata=bastion_metadata, postgres_url=url
    )


@pytest.fixture
def bastion_base_settings() -> BastionSettings:
    """The host's settings before the plugin's changes; override to return your subclass."""
    return BastionSettings.model_validate(
        {"environment": "test", "secret_key": _TEST_KEY, "configure_logging": False}
    )


@pytest.fixture
def bastion_settings_overrides() -> dict[str, object]:
    """Settings changes for every test in scope (override per module or directory)."""
    return {}


@pytest.fixture
def bastion_settings(
    request: pytest.FixtureRequest,
    pytestconfig: pytest.Config,
    bastion_base_settings: BastionSettings,
    bastion_settings_overrides: dict[str, object],
    bastion_database: TestDatabase,
) -> BastionSettings:
    """The settings the test's app runs on.

    `bastion_base_settings` with, in this order: the test database, a
    rate-limit key prefix of its own (Redis counters never leak between
    tests), `bastion_settings_overrides`, the `bastion_settings` markers (the
    closest last), and fast hashing unless `bastion_fast_hashing = false`.

    Raises:
        ProductionHashingError: Fast hashing for production settings.
    """
    changes: dict[str, object] = {
        **bastion_database.settings_changes(),
        "ratelimit_key_prefix": f"bastion-test-{uuid.uuid4().hex[:12]}",
        **bastion_settings_overrides,
    }
    for marker in reversed(list(request.node.iter_markers(_MARKER))):
        changes.update(marker.kwargs)
    settings = settings_with(bastion_base_settings, changes)
    if pytestconfig.getini("bastion_fast_hashing"):
        settings = with_fast_hashing(settings)
    return settings


@pytest.fixture
def bastion_clock() -> ManualClock:
    """The clock the app's auth feature reads (tokens, sessions, TOTP); move it by hand."""
    return ManualClock()


@pytest.fixture
def bastion_app_factory(pytestconfig: pytest.Config) -> AppFactory:
    """How to build the host's app from settings: the `bastion_app_factory` ini option.

    Override the fixture instead to return any callable taking the settings.
    """
    target = str(pytestconfig.getini("bastion_app_factory"))
    module, _, name = target.partition(":")
    if not module or not name:
        pytest.fail(
            "bastion.testing needs the app: set `bastion_app_factory = module:callable` "
            "in the pytest configuration, or define a `bastion_app_factory` fixture",
            pytrace=False,
        )
    factory: AppFactory = getattr(importlib.import_module(module), name)
    return factory


@pytest.fixture
async def bastion_test_app(
    anyio_backend: object,
    bastion_app_factory: AppFactory,
    bastion_settings: BastionSettings,
    bastion_clock: ManualClock,
) -> AsyncIterator[TestApp]:
    """The app running inside its lifespan, its database work in one rolled-back transaction."""
    async with running_app(bastion_app_factory(bastion_settings), clock=bastion_clock) as running:
        yield running


@pytest.fixture
def bastion_app(bastion_test_app: TestApp) -> FastAPI:
    """The host's app, inside its lifespan, on the test's transaction."""
    return bastion_test_app.app


@pytest.fixture
def bastion_resources(bastion_test_app: TestApp) -> Resources:
    """The running app's `Resources`."""
    return bastion_test_app.resources


@pytest.fixture
async def bastion_client(bastion_test_app: TestApp) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous `httpx.AsyncClient` of the app (`http://testserver`)."""
    async with bastion_test_app.client() as client:
        yield client


@pytest.fixture
def bastion_uow(bastion_test_app: TestApp) -> UowFactory:
    """Opens units of work in the test's transaction (call it inside `async with`)."""
    return bastion_test_app.uow


@pytest.fixture
def bastion_user_factory(bastion_test_app: TestApp) -> UserFactory:
    """Creates users in the test's transaction (see `UserFactory`)."""
    return UserFactory(bastion_test_app)


@pytest.fixture
async def bastion_client_factory(
    bastion_test_app: TestApp, bastion_user_factory: UserFactory
) -> AsyncIterator[ClientFactory]:
    """Builds clients logged in as a user, Bearer or cookie mode (see `ClientFactory`)."""
    async with AsyncExitStack() as stack:
        yield ClientFactory(bastion_test_app, bastion_user_factory, stack)
