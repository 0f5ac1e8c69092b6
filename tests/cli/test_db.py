"""`bastion db`: a host project's whole migrations workflow, located without `--migrations`.

The workflow runs in real `bastion` processes (a fresh interpreter holds only the
host's models, as in a project), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import textwrap
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from alembic import command
from alembic.config import Config

from bastion.cli import main
from bastion.cli._project import find_project
from bastion.cli._scaffold import SCRIPT_TEMPLATE, Scaffold
from bastion.core import BastionSettings
from tests.db.conftest import db_settings  # noqa: F401  # the parametrized database fixture

#: Bounds each command of the workflow (an interpreter start and a few statements).
COMMAND_TIMEOUT = 120

MODELS = '''
"""The shop's models."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db import Base, TimestampMixin, UUIDPrimaryKeyMixin


class Item(UUIDPrimaryKeyMixin, TimestampMixin, Base):
    __tablename__ = "items"

    name: Mapped[str] = mapped_column(String(80))
'''


def _project(root: Path) -> Path:
    """A host project: `shop/models.py` and a pyproject.toml naming `shop:migrations`."""
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "models.py").write_text(MODELS)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "shop"\n\n[tool.bastion]\nmigrations = "shop:migrations"\n'
    )
    return root


def _environment(settings: BastionSettings) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("BASTION_") and key != "PYTHONPATH"
    }
    env["BASTION_DATABASE_URL"] = settings.database_url.get_secret_value()
    if settings.database_schema:
        env["BASTION_DATABASE_SCHEMA"] = settings.database_schema
    return env


@dataclass(frozen=True)
class Ran:
    """A finished `bastion db` process."""

    returncode: int
    stdout: str
    stderr: str


async def _bastion(cwd: Path, env: dict[str, str], *argv: str) -> Ran:
    with anyio.fail_after(COMMAND_TIMEOUT):
        done = await anyio.run_process(
            [sys.executable, "-m", "bastion.cli", "db", *argv], cwd=cwd, env=env, check=False
        )
    return Ran(done.returncode, done.stdout.decode(), done.stderr.decode())


async def test_init_revision_upgrade_check_downgrade_from_pyproject(
    db_settings: BastionSettings,  # noqa: F811
    tmp_path: Path,
) -> None:
    root = _project(tmp_path / "project")
    work = root / "shop"  # a subdirectory: the pyproject.toml is found upward
    env = _environment(db_settings)

    init = await _bastion(work, env, "init")
    assert init.returncode == 0, init.stderr
    migrations = root / "shop" / "migrations"
    assert {p.name for p in migrations.iterdir()} == {
        "__init__.py",
        "env.py",
        "script.py.mako",
        "versions",
    }
    assert "import shop.models" in (migrations / "env.py").read_text()
    assert not (root / "alembic.ini").exists()
    again = await _bastion(work, env, "init")
    assert again.returncode == 1
    assert "already exists" in again.stderr

    revision = await _bastion(work, env, "revision", "-m", "create items", "--autogenerate")
    assert revision.returncode == 0, revision.stderr
    assert "Detected added table 'items'" in revision.stderr
    (written,) = (migrations / "versions").glob("*_create_items.py")
    script = written.read_text()
    assert "bastion" not in script  # migrations never import bastion
    assert "sa.DateTime(timezone=True)" in script  # `UTCDateTime`, rendered plain
    assert script.count("import sqlalchemy as sa") == 1  # a second one fails linters (F811)

    upgrade = await _bastion(work, env, "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert "Running upgrade  -> " in upgrade.stderr
    current = await _bastion(work, env, "current")
    assert "(head)" in current.stdout
    check = await _bastion(work, env, "check")
    assert (check.returncode, check.stdout.strip()) == (
        0,
        "No new upgrade operations detected.",
    )

    # A model change without its migration fails the check, for CI.
    models = root / "shop" / "models.py"
    models.write_text(models.read_text() + "    price: Mapped[int] = mapped_column(default=0)\n")
    drift = await _bastion(work, env, "check")
    assert drift.returncode == 1
    detected, verdict = drift.stderr.splitlines()
    assert detected == "Detected added column 'items.price'"
    assert verdict.startswith("bastion db check: the models differ from the migrations; ")

    history = await _bastion(work, env, "history", "--indicate-current")
    assert "create items" in history.stdout
    assert "(current)" in history.stdout
    downgrade = await _bastion(work, env, "downgrade", "base")
    assert downgrade.returncode == 0, downgrade.stderr
    assert "(head)" not in (await _bastion(work, env, "current")).stdout


def test_the_location_comes_from_the_option_then_the_variable_then_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path)
    (tmp_path / "deep" / "er").mkdir(parents=True)
    project = find_project(tmp_path / "deep" / "er")
    assert project.root == tmp_path
    option = "shop:other"
    assert project.setting("migrations", option=option, variable="BASTION_MIGRATIONS") == option
    monkeypatch.setenv("BASTION_MIGRATIONS", "shop:from_env")
    assert project.setting("migrations", option=None, variable="BASTION_MIGRATIONS") == (
        "shop:from_env"
    )
    monkeypatch.delenv("BASTION_MIGRATIONS")
    assert project.setting("migrations", option=None, variable="BASTION_MIGRATIONS") == (
        "shop:migrations"
    )


def test_a_directory_in_pyproject_is_relative_to_the_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.bastion]\nmigrations = "db/migrations"\n')
    (tmp_path / "src").mkdir()
    project = find_project(tmp_path / "src")
    located = project.setting(
        "migrations", option=None, variable="BASTION_MIGRATIONS", location=True
    )
    assert located == str(tmp_path / "db" / "migrations")


def test_a_pyproject_without_tool_bastion_is_skipped_for_the_nearest_with_it(
    tmp_path: Path,
) -> None:
    _project(tmp_path)
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    assert find_project(inner).root == tmp_path


def test_no_location_anywhere_is_one_line_naming_the_three_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BASTION_MIGRATIONS", raising=False)
    assert main(["db", "current"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    for way in ("--migrations", "BASTION_MIGRATIONS", "[tool.bastion]"):
        assert way in err


def test_refused_settings_are_one_line_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BASTION_MIGRATIONS", "notes_app:migrations")
    monkeypatch.setenv("BASTION_ENVIRONMENT", "production")
    monkeypatch.setenv("BASTION_SECRET_KEY", "s3cret-" * 8)
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    assert main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "bastion db upgrade: invalid settings: BASTION_DATABASE_URL must be set explicitly"
    ), err
    assert "s3cret" not in err


def test_an_invalid_pyproject_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.bastion\n")
    monkeypatch.chdir(tmp_path)
    assert main(["db", "upgrade"]) == 1
    assert "is not valid TOML" in capsys.readouterr().err


def test_the_settings_url_wins_over_an_alembic_ini(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served, elsewhere = tmp_path / "served.db", tmp_path / "elsewhere.db"
    ini = tmp_path / "alembic.ini"
    ini.write_text(
        textwrap.dedent(f"""
            [alembic]
            script_location = notes_app:migrations
            path_separator = os
            sqlalchemy.url = sqlite+aiosqlite:///{elsewhere}
        """)
    )
    monkeypatch.setenv("BASTION_DATABASE_URL", f"sqlite+aiosqlite:///{served}")
    command.upgrade(Config(str(ini)), "head")
    assert served.exists()
    assert not elsewhere.exists()


def test_upgrade_then_check_in_process_from_bastion_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = tmp_path / "served.db"
    monkeypatch.setenv("BASTION_DATABASE_URL", f"sqlite+aiosqlite:///{served}")
    monkeypatch.setenv("BASTION_MIGRATIONS", "notes_app:migrations")
    assert main(["db", "check"]) == 1  # not migrated yet: not up to date
    assert main(["db", "upgrade"]) == 0
    with closing(sqlite3.connect(served)) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"notes", "users", "alembic_version"} <= tables
    assert main(["db", "check"]) == 0


def test_a_postgresql_url_without_asyncpg_installed_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As if the `postgres` extra were not installed: importing asyncpg fails.
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    monkeypatch.setenv("BASTION_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:1/app")
    assert main(["db", "current", "--migrations", "notes_app:migrations"]) == 1
    assert capsys.readouterr().err == (
        "bastion db current: PostgreSQL needs asyncpg: pip install 'bastion[postgres]'\n"
    )


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (
            "sqlite+aiosqlite:////nonexistent-directory/app.db",
            "cannot open the SQLite file; check BASTION_DATABASE_URL",
        ),
        (
            "postgresql+asyncpg://postgres@127.0.0.1:1/app",
            "cannot reach the database (",
        ),
    ],
)
async def test_a_database_that_cannot_be_reached_is_one_line(url: str, said: str) -> None:
    # A real process: aiosqlite's worker thread outlives a failed connect, as it does there.
    env = {key: value for key, value in os.environ.items() if not key.startswith("BASTION_")}
    env["BASTION_DATABASE_URL"] = url
    ran = await _bastion(Path.cwd(), env, "upgrade", "--migrations", "notes_app:migrations")
    assert ran.returncode == 1
    assert ran.stderr.startswith(f"bastion db upgrade: {said}")
    assert ran.stderr.count("\n") == 1
    assert "Traceback" not in ran.stderr


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            {"database": "bastion_no_such_database"},
            "the database does not exist; create it or check BASTION_DATABASE_URL",
        ),
        (
            {"username": "bastion_no_such_role", "password": "x"},
            "the database refused the credentials; check BASTION_DATABASE_URL",
        ),
    ],
)
def test_a_missing_database_or_bad_credentials_is_one_line_with_its_sqlstate(
    change: dict[str, str],
    said: str,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url).set(**change)  # type: ignore[arg-type]
    monkeypatch.setenv("BASTION_DATABASE_URL", url.render_as_string(hide_password=False))
    assert main(["db", "upgrade", "--migrations", "notes_app:migrations"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"bastion db upgrade: {said}")
    assert "SQLSTATE 3D000" in err or "SQLSTATE 28" in err
    assert err.count("\n") == 1


@pytest.mark.postgres
@pytest.mark.parametrize("action", ["current", "upgrade", "check"])
def test_a_schema_that_does_not_exist_is_one_line_naming_it(
    action: str,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `current` used to print nothing and exit 0, as for an empty database.
    monkeypatch.setenv("BASTION_DATABASE_URL", postgres_url)
    monkeypatch.setenv("BASTION_DATABASE_SCHEMA", "bastion_no_such_schema")
    assert main(["db", action, "--migrations", "notes_app:migrations"]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"bastion db {action}: the schema bastion_no_such_schema does not exist; "
        "create it or check BASTION_DATABASE_SCHEMA\n"
    )


def test_the_examples_migrations_are_what_init_writes() -> None:
    migrations = Path(__file__).parents[2] / "examples" / "notes" / "notes_app" / "migrations"
    scaffold = Scaffold(models=("notes_app.models",), settings="notes_app.config:NotesSettings")
    assert (migrations / "env.py").read_text() == scaffold.env_py()
    assert (migrations / "script.py.mako").read_text() == SCRIPT_TEMPLATE


def test_init_without_models_leaves_a_commented_place_for_them() -> None:
    env = Scaffold().env_py()
    assert "# import your_app.models\n" in env
    assert env.endswith("run_migrations(Base.metadata)\n")


def test_init_into_a_directory_with_named_models_and_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["db", "init", "--migrations", "db/migrations", "--models", "shop.models"]
    assert main([*argv, "--models", "shop.more", "--settings", "shop.config:ShopSettings"]) == 0
    env = (tmp_path / "db" / "migrations" / "env.py").read_text()
    assert "import shop.models  # noqa: F401" in env
    assert "import shop.more  # noqa: F401" in env
    assert "from shop.config import ShopSettings" in env
    assert env.endswith("run_migrations(Base.metadata, settings_factory=ShopSettings)\n")
    assert (tmp_path / "db" / "migrations" / "versions").is_dir()
    assert "wrote db/migrations/env.py" in capsys.readouterr().out


def test_init_of_a_package_that_cannot_be_found_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["db", "init", "--migrations", "no_such_package_here:migrations"]) == 1
    assert capsys.readouterr().err == (
        "bastion db init: 'no_such_package_here' is not an importable package "
        "(for 'no_such_package_here:migrations')\n"
    )


def test_upgrade_sql_prints_the_migrations_without_a_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BASTION_DATABASE_URL", "postgresql+asyncpg://u@127.0.0.1:1/offline")
    assert main(["db", "upgrade", "--sql", "--migrations", "notes_app:migrations"]) == 0
    assert "CREATE TABLE notes" in capsys.readouterr().out
