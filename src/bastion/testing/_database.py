"""The test databases: created and migrated once per session, per backend and schema source."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import SecretStr
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bastion.core import BastionSettings
from bastion.db import create_engine

__all__ = ["BACKENDS", "DatabaseRegistry", "TestDatabase"]

#: The backends the plugin knows, as `bastion_databases` names them.
BACKENDS = ("sqlite", "postgres")

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class TestDatabase:
    """One migrated test database, shared by every test of the session that uses its schema.

    Attributes:
        backend: `"sqlite"` or `"postgres"`.
        url: Its async SQLAlchemy URL.
        schema: The PostgreSQL schema holding its tables (None on SQLite).
    """

    __test__ = False  # a fixture's value, not a test class to collect

    backend: str
    url: str
    schema: str | None = None

    def settings_changes(self) -> dict[str, object]:
        """The settings changes that point an app at this database."""
        return {"database_url": SecretStr(self.url), "database_schema": self.schema}


def _in_thread(work: Callable[[], Awaitable[_T]]) -> _T:
    # Session set-up runs from synchronous fixtures, outside the tests' event loop:
    # a thread of its own gets a loop of its own and leaves the tests' loop alone.
    def run() -> _T:
        async def main() -> _T:
            return await work()

        return asyncio.run(main())

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


async def _migrate(database: TestDatabase, migrations: str | None, metadata: MetaData) -> None:
    settings = BastionSettings.model_validate(
        {"environment": "test", "configure_logging": False, **database.settings_changes()}
    )
    engine = create_engine(settings)
    try:
        if migrations is not None:
            # Alembic loads for a suite that migrates, not with the plugin every
            # pytest run of a host imports.
            from bastion.db.migrations import alembic_config, upgrade_database

            await upgrade_database(engine, alembic_config(migrations))
        else:
            async with engine.begin() as connection:
                await connection.run_sync(metadata.create_all)
    finally:
        await engine.dispose()


async def _schema_ddl(url: str, statement: str) -> None:
    admin = create_async_engine(url, poolclass=NullPool)
    try:
        async with admin.begin() as connection:
            await connection.execute(text(statement))
    finally:
        await admin.dispose()


class DatabaseRegistry:
    """The session's test databases, each built on first use and dropped at the end.

    One database per backend and schema source (a migrations location, or a
    metadata's tables), so two host apps tested in one run never share tables.
    """

    def __init__(self, directory: Path) -> None:
        """Keep SQLite files under `directory`."""
        self._directory = directory
        self._databases: dict[Hashable, TestDatabase] = {}
        self._cleanup = ExitStack()

    def get(
        self,
        backend: str,
        *,
        migrations: str | None,
        metadata: MetaData,
        postgres_url: str | None = None,
    ) -> TestDatabase:
        """The database for `backend` and this schema source, created and migrated once.

        Args:
            backend: `"sqlite"` or `"postgres"`.
            migrations: An Alembic location (`"package:migrations"`) to upgrade to head;
                None to create `metadata`'s tables instead.
            metadata: The tables to create when there are no migrations.
            postgres_url: The server's URL (for `"postgres"`).

        Raises:
            ValueError: An unknown backend, or `"postgres"` without a URL.
        """
        key = (backend, migrations if migrations is not None else metadata)
        known = self._databases.get(key)
        if known is None:
            known = self._create(backend, postgres_url)
            _in_thread(lambda: _migrate(known, migrations, metadata))
            self._databases[key] = known
        return known

    def _create(self, backend: str, postgres_url: str | None) -> TestDatabase:
        name = f"bastion_test_{secrets.token_hex(6)}"
        if backend == "sqlite":
            return TestDatabase("sqlite", f"sqlite+aiosqlite:///{self._directory / name}.db")
        if backend != "postgres":
            raise ValueError(f"unknown test database backend {backend!r}: use {BACKENDS}")
        if postgres_url is None:
            raise ValueError("a PostgreSQL test database needs BASTION_TEST_DATABASE_URL")
        _in_thread(lambda: _schema_ddl(postgres_url, f'CREATE SCHEMA "{name}"'))
        self._cleanup.callback(
            _in_thread, lambda: _schema_ddl(postgres_url, f'DROP SCHEMA "{name}" CASCADE')
        )
        return TestDatabase("postgres", postgres_url, name)

    def close(self) -> None:
        """Drop every PostgreSQL schema this registry created."""
        self._cleanup.close()


@contextmanager
def database_registry(directory: Path) -> Iterator[DatabaseRegistry]:
    """A registry whose databases are dropped when the block ends."""
    registry = DatabaseRegistry(directory)
    try:
        yield registry
    finally:
        registry.close()
