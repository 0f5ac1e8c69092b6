"""`bastion users` administers the accounts of any app that mounts bastion's auth router.

The host here is `tests.cli.host`: the auth router on the auth tests' own models, on
SQLite and PostgreSQL. Each command runs as a process would (its own thread and
event loop) while the app serves the same database.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
import httpx
import pytest

from bastion.cli import main
from bastion.cli._users import PASSWORD_VARIABLE
from bastion.core import BastionSettings
from bastion.db import create_engine
from tests.auth.models import AuthTestBase
from tests.cli.host import create_host_app
from tests.conftest import TEST_SECRET, serve
from tests.db.conftest import db_settings  # noqa: F401  # the parametrized database fixture

HOST = "tests.cli.host:create_host_app"
PASSWORD = "a long enough admin passphrase"  # a test-only password


@dataclass(frozen=True)
class Ran:
    """What a `bastion users` command did."""

    status: int
    out: str
    err: str


async def users(*argv: str, stdin: str = "") -> Ran:
    """Run `bastion users ARGV` in its own thread, as a process would."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(stdin))
        patch.setattr("sys.stdout", out)
        patch.setattr("sys.stderr", err)
        status = await anyio.to_thread.run_sync(lambda: main(["users", *argv]))
    return Ran(status, out.getvalue(), err.getvalue())


@pytest.fixture
async def host(
    db_settings: BastionSettings,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[httpx.AsyncClient]:
    """The host app serving a database with its tables, its settings in the environment."""
    engine = create_engine(db_settings)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(AuthTestBase.metadata.create_all)
    finally:
        await engine.dispose()
    for key, value in {
        "BASTION_ENVIRONMENT": "test",
        "BASTION_DATABASE_URL": db_settings.database_url.get_secret_value(),
        "BASTION_DATABASE_SCHEMA": db_settings.database_schema,
        "BASTION_SECRET_KEY": TEST_SECRET,
        "BASTION_CONFIGURE_LOGGING": "false",
        "BASTION_PASSWORD_HASH_TIME_COST": "1",
        "BASTION_PASSWORD_HASH_MEMORY_COST": "8",
        "BASTION_PASSWORD_HASH_PARALLELISM": "1",
        "BASTION_APP": HOST,
    }.items():
        if value:
            monkeypatch.setenv(key, value)
    monkeypatch.delenv(PASSWORD_VARIABLE, raising=False)
    async with serve(create_host_app()) as client:
        yield client


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", data={"username": email, "password": password})


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


async def test_create_admin_from_the_variable_then_log_in_as_admin(
    host: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_VARIABLE, PASSWORD)
    assert await users("create-admin", "--email", " Root@Example.COM ") == Ran(
        0, "created admin root@example.com\n", ""
    )
    login = await _login(host, "root@example.com", PASSWORD)
    assert login.status_code == 200
    me = await _me(host, login.json()["access_token"])
    assert me.json()["roles"] == ["admin"]


async def test_create_admin_reads_the_password_from_stdin(host: httpx.AsyncClient) -> None:
    created = await users("create-admin", "--email", "root@example.com", stdin=f"{PASSWORD}\n")
    assert created == Ran(0, "created admin root@example.com\n", "")
    assert (await _login(host, "root@example.com", PASSWORD)).status_code == 200


async def test_create_admin_without_any_password_is_one_line(host: httpx.AsyncClient) -> None:
    refused = await users("create-admin", "--email", "root@example.com")
    assert refused.status == 1
    assert refused.err == (
        f"bastion users create-admin: no password: set {PASSWORD_VARIABLE} "
        "or write it on standard input\n"
    )


async def test_create_admin_on_an_existing_account_promotes_it_and_keeps_its_password(
    host: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await host.post(
        "/api/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
    )
    monkeypatch.setenv(PASSWORD_VARIABLE, "another admin passphrase")
    promoted = await users("create-admin", "--email", "ada@example.com")
    assert promoted == Ran(0, "promoted admin ada@example.com\n", "")
    login = await _login(host, "ada@example.com", PASSWORD)
    assert (await _me(host, login.json()["access_token"])).json()["roles"] == ["admin"]


async def test_a_weak_password_is_refused_by_the_apps_policy(host: httpx.AsyncClient) -> None:
    weak = await users("create-admin", "--email", "root@example.com", stdin="short\n")
    assert weak.status == 1
    assert weak.err.startswith("bastion users create-admin: WEAK_PASSWORD: ")
    assert weak.err.count("\n") == 1
    assert (await _login(host, "root@example.com", "short")).status_code == 401


async def test_the_password_is_never_an_argument(host: httpx.AsyncClient) -> None:
    with pytest.raises(SystemExit):
        main(["users", "create-admin", "--email", "root@example.com", "--password", PASSWORD])


async def test_grant_role_adds_it_to_the_live_session_at_once(host: httpx.AsyncClient) -> None:
    await host.post(
        "/api/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
    )
    token = (await _login(host, "ada@example.com", PASSWORD)).json()["access_token"]
    granted = await users("grant-role", "--email", "ada@example.com", "editor")
    assert granted == Ran(0, "granted editor to ada@example.com\n", "")
    assert (await _me(host, token)).json()["roles"] == ["editor"]
    again = await users("grant-role", "--email", "ada@example.com", "editor")
    assert again.status == 0
    assert (await _me(host, token)).json()["roles"] == ["editor"]


@pytest.mark.parametrize("role", ["", "has space", "x" * 65, "semi;colon"])
async def test_a_malformed_role_is_refused_before_anything_runs(
    host: httpx.AsyncClient, role: str
) -> None:
    with pytest.raises(SystemExit):
        main(["users", "grant-role", "--email", "ada@example.com", role])


async def test_deactivate_stops_the_account_and_every_session(host: httpx.AsyncClient) -> None:
    await host.post(
        "/api/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
    )
    pair = (await _login(host, "ada@example.com", PASSWORD)).json()
    deactivated = await users("deactivate", "--email", "ada@example.com")
    assert deactivated == Ran(0, "deactivated ada@example.com (every session revoked)\n", "")
    assert (await _me(host, pair["access_token"])).status_code == 401
    refreshed = await host.post(
        "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert refreshed.status_code == 401
    assert (await _login(host, "ada@example.com", PASSWORD)).status_code == 401


@pytest.mark.parametrize(
    "argv",
    [
        ("deactivate", "--email", "nobody@example.com"),
        ("grant-role", "--email", "nobody@example.com", "editor"),
    ],
)
async def test_an_unknown_account_is_one_line(host: httpx.AsyncClient, argv: tuple[str]) -> None:
    ran = await users(*argv)
    assert ran == Ran(1, "", f"bastion users {argv[0]}: no account has this e-mail\n")


async def test_a_malformed_email_is_refused(host: httpx.AsyncClient) -> None:
    with pytest.raises(SystemExit):
        main(["users", "deactivate", "--email", "not-an-address"])


@pytest.mark.parametrize(
    ("app", "said"),
    [
        ("tests.cli.host:create_app_without_auth", "the app mounts no auth router"),
        ("tests.cli.host:nothing_here", "cannot import tests.cli.host:nothing_here"),
        ("tests.cli.host", "the app must be 'module:attribute'"),
        ("tests.cli.host:HOST_IS_NOT_AN_APP", "cannot import"),
        ("tests.conftest:TEST_SECRET", "tests.conftest:TEST_SECRET is not a FastAPI app"),
    ],
)
async def test_an_app_that_cannot_serve_the_command_is_one_line(
    host: httpx.AsyncClient, app: str, said: str
) -> None:
    ran = await users("deactivate", "--email", "ada@example.com", "--app", app)
    assert ran.status == 1
    assert ran.err.startswith(f"bastion users deactivate: {said}")
    assert ran.err.count("\n") == 1


async def test_the_app_comes_from_pyproject_without_option_or_variable(
    host: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(f'[tool.bastion]\napp = "{HOST}"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BASTION_APP")
    monkeypatch.setenv(PASSWORD_VARIABLE, PASSWORD)
    created = await users("create-admin", "--email", "root@example.com")
    assert created == Ran(0, "created admin root@example.com\n", "")


async def test_no_app_anywhere_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BASTION_APP", raising=False)
    ran = await users("deactivate", "--email", "ada@example.com")
    assert ran.status == 1
    assert "pass --app, set BASTION_APP, or add `app" in ran.err


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql+asyncpg://postgres@127.0.0.1:1/app", "cannot reach the database ("),
        ("sqlite+aiosqlite:///{tmp}/empty.db", "a table is missing; is it migrated?"),
    ],
)
async def test_a_database_the_command_cannot_use_is_one_line(
    url: str, said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASTION_ENVIRONMENT", "test")
    monkeypatch.setenv("BASTION_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("BASTION_CONFIGURE_LOGGING", "false")
    monkeypatch.setenv("BASTION_DATABASE_URL", url.format(tmp=tmp_path))
    monkeypatch.setenv(PASSWORD_VARIABLE, PASSWORD)
    ran = await users("create-admin", "--email", "root@example.com", "--app", HOST)
    assert ran.status == 1
    assert ran.err.startswith(f"bastion users create-admin: {said}")
    assert ran.err.count("\n") == 1
