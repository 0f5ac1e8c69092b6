"""The notes migrations: `upgrade head` on an empty database matches the models exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

import notes_app.models  # noqa: F401  # registers the notes tables
from bastion.cli import main
from bastion.db import Base, create_engine
from bastion.db.migrations import alembic_config, migration_diff
from conftest import migrate  # type: ignore[import-not-found]  # this directory's conftest
from notes_app.config import NotesSettings


async def test_upgrade_head_on_an_empty_database_leaves_nothing_to_autogenerate(
    empty_db: NotesSettings,
) -> None:
    await migrate(empty_db)
    engine = create_engine(empty_db)
    try:
        assert await migration_diff(engine, Base.metadata) == []
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert {"notes", "alembic_version"} <= set(tables)
    finally:
        await engine.dispose()


async def test_a_database_without_migrations_differs_from_the_models(
    empty_db: NotesSettings,
) -> None:
    engine = create_engine(empty_db)
    try:
        assert await migration_diff(engine, Base.metadata) != []
    finally:
        await engine.dispose()


def test_the_cli_upgrades_checks_reports_and_downgrades_from_the_examples_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The example's pyproject.toml names its migrations: no --migrations needed there.
    monkeypatch.chdir(Path(__file__).parents[1])
    monkeypatch.setenv("BASTION_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "check"]) == 0
    assert main(["db", "current"]) == 0
    assert "0006 (head)" in capsys.readouterr().out
    assert main(["db", "downgrade", "base"]) == 0


def test_the_cli_elsewhere_needs_a_migrations_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BASTION_MIGRATIONS", raising=False)
    assert main(["db", "upgrade"]) == 1
    assert "--migrations" in capsys.readouterr().err


@pytest.mark.parametrize(
    "url", ["sqlite+aiosqlite:///offline.db", "postgresql+asyncpg://u@127.0.0.1/offline"]
)
def test_offline_mode_prints_the_sql_without_connecting(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    command.upgrade(alembic_config("notes_app:migrations", database_url=url), "head", sql=True)
    assert "CREATE TABLE notes" in capsys.readouterr().out


async def test_notes_written_before_versions_start_at_version_1(empty_db: NotesSettings) -> None:
    from sqlalchemy import Uuid, bindparam, text

    from bastion.db import uuid7
    from bastion.db.migrations import upgrade_database

    engine = create_engine(empty_db)
    config = alembic_config("notes_app:migrations")
    try:
        await upgrade_database(engine, config, "0003")
        user, note = uuid7(), uuid7()
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO users (id, email, password_hash, is_active, roles, mfa_enabled,"
                    " created_at, updated_at) VALUES (:id, 'a@example.com', 'x', true, '[]',"
                    " false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ).bindparams(bindparam("id", type_=Uuid())),
                {"id": user},
            )
            await connection.execute(
                text(
                    "INSERT INTO notes (id, owner_id, title, body, created_at, updated_at)"
                    " VALUES (:id, :owner, 't', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ).bindparams(bindparam("id", type_=Uuid()), bindparam("owner", type_=Uuid())),
                {"id": note, "owner": user},
            )
        await upgrade_database(engine, config)
        async with engine.connect() as connection:
            versions = (await connection.execute(text("SELECT version FROM notes"))).all()
        assert [tuple(row) for row in versions] == [(1,)]
        assert await migration_diff(engine, Base.metadata) == []
    finally:
        await engine.dispose()
