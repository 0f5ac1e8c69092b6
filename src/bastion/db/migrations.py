"""Alembic helpers: a few-line `env.py`, and upgrades and drift checks callable from code."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Literal

from alembic import command, context
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.migration import MigrationContext
from pydantic import SecretStr
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.core import BastionSettings
from bastion.db._base import UTCDateTime
from bastion.db._driver_threads import driver_threads_finished
from bastion.db._engine import create_engine

__all__ = [
    "alembic_config",
    "migration_diff",
    "render_item",
    "run_migrations",
    "upgrade_database",
]

_CONNECTION = "connection"
#: Where `alembic_config(database_url=...)` leaves its URL: not `sqlalchemy.url`, which
#: an `alembic.ini` also sets (`alembic init` writes a placeholder there).
_DATABASE_URL = "bastion.database_url"


def alembic_config(script_location: str, *, database_url: str | None = None) -> Config:
    """Build an Alembic `Config` without an `alembic.ini`.

    Args:
        script_location: A directory or a package resource (`"notes_app:migrations"`).
        database_url: Overrides the URL `env.py` reads from the settings (for
            offline SQL of another database).
    """
    config = Config(stdout=sys.stdout)
    config.set_main_option("script_location", script_location)
    if database_url is not None:
        config.attributes[_DATABASE_URL] = database_url
    return config


def render_item(kind: str, obj: object, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render bastion's column types as plain SQLAlchemy ones, so migrations never import bastion.

    Passed to Alembic as `render_item`; every other item renders the default way.
    The migration template imports `sqlalchemy as sa` already, as Alembic's own
    renderings need.
    """
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(metadata: MetaData, dialect: str, **target: object) -> None:
    context.configure(
        target_metadata=metadata,
        render_item=render_item,
        compare_type=True,
        compare_server_default=True,
        # SQLite cannot ALTER most things: batch mode recreates the table.
        render_as_batch=dialect == "sqlite",
        **target,  # type: ignore[arg-type]  # connection= or url= + literal_binds=
    )


def _require_schema(connection: Connection) -> None:
    """Refuse a PostgreSQL `search_path` whose schema does not exist.

    Alembic would read such a database as empty: `current` would print nothing and
    exit 0, `upgrade` fail on its first `CREATE TABLE`.
    """
    if connection.exec_driver_sql("SELECT current_schema()").scalar() is None:
        path = connection.exec_driver_sql("SHOW search_path").scalar()
        raise ValueError(
            f"the schema {path} does not exist; create it or check BASTION_DATABASE_SCHEMA"
        )


def _run_on(connection: Connection, metadata: MetaData) -> None:
    if connection.dialect.name == "postgresql":
        _require_schema(connection)
    _configure(metadata, connection.dialect.name, connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations(
    metadata: MetaData, *, settings_factory: Callable[[], BastionSettings] = BastionSettings
) -> None:
    """The whole body of a host app's `env.py`.

    ```python
    from bastion.db.migrations import run_migrations
    from notes_app.config import NotesSettings
    from notes_app.models import Base

    run_migrations(Base.metadata, settings_factory=NotesSettings)
    ```

    Offline mode prints SQL. Online mode reuses a connection handed over by
    `upgrade_database` or opens an async engine on the settings' URL (with the
    settings' schema), so `bastion db upgrade` and `alembic upgrade head` work.
    The settings' URL wins over any `sqlalchemy.url` in an `alembic.ini`: the
    migrations always run on the database the app serves.

    Args:
        metadata: The models' metadata (its naming convention keeps autogenerate stable).
        settings_factory: Reads the app's settings from the environment.
    """
    config = context.config
    given = config.attributes.get(_CONNECTION)
    if isinstance(given, Connection):
        _run_on(given, metadata)
        return
    settings = settings_factory()
    given_url = config.attributes.get(_DATABASE_URL)
    url = given_url if isinstance(given_url, str) else settings.database_url.get_secret_value()
    if context.is_offline_mode():
        dialect = url.split(":", 1)[0].split("+", 1)[0]
        _configure(metadata, dialect, url=url, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    async def online() -> None:
        # A migration may rightly run longer than any request's statement (an index
        # build): the statement timeout is for serving, not for migrating.
        migrating = {"database_url": SecretStr(url), "database_statement_timeout": 0}
        engine = create_engine(settings.model_copy(update=migrating))
        try:
            async with driver_threads_finished(), engine.begin() as connection:
                await connection.run_sync(_run_on, metadata)
        finally:
            await engine.dispose()

    asyncio.run(online())


def _upgrade(connection: Connection, config: Config, revision: str) -> None:
    config.attributes[_CONNECTION] = connection
    command.upgrade(config, revision)


async def upgrade_database(engine: AsyncEngine, config: Config, revision: str = "head") -> None:
    """Apply migrations up to `revision` on `engine`, from async code (tests, app start).

    The migrations run on one of the engine's connections, so its settings
    (SQLite pragmas, PostgreSQL schema) apply.
    """
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, config, revision)


def _diff(connection: Connection, metadata: MetaData) -> list[object]:
    migration_context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(migration_context, metadata))


async def migration_diff(engine: AsyncEngine, metadata: MetaData) -> list[object]:
    """Return what autogenerate would change to make the database match `metadata`.

    Empty after `upgrade head` means the migrations and the models agree.
    """
    async with engine.connect() as connection:
        return await connection.run_sync(_diff, metadata)
