"""The notes service with accounts: owner-scoped notes, the admin route, `bastion users`."""

from __future__ import annotations

import io
from pathlib import Path

import anyio.to_thread
import httpx
import pytest

from bastion.cli import main
from conftest import PASSWORD, sign_up  # type: ignore[import-not-found]  # this directory's conftest
from notes_app.config import NotesSettings
from notes_app.main import create_notes_app
from tests.conftest import TEST_SECRET, serve

NOTES = "/api/v1/notes"
AUTH = "/api/v1/auth"

#: Where `bastion users create-admin` reads the password from.
PASSWORD_VARIABLE = "BASTION_ADMIN_PASSWORD"


async def test_notes_need_a_login(bastion_client: httpx.AsyncClient) -> None:
    response = await bastion_client.get(NOTES)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_another_users_note_is_not_found(client: httpx.AsyncClient) -> None:
    note = (await client.post(NOTES, json={"title": "mine"})).json()
    intruder = {"Authorization": f"Bearer {await sign_up(client, 'eve@example.com')}"}
    for method, body in (("GET", None), ("PATCH", {"title": "x"}), ("DELETE", None)):
        response = await client.request(
            method, f"{NOTES}/{note['id']}", json=body, headers=intruder
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"
    listed = await client.get(NOTES, headers=intruder)
    assert listed.json()["items"] == []
    assert (await client.get(f"{NOTES}/{note['id']}")).json()["title"] == "mine"


async def test_the_auth_contract_is_mounted_at_api_v1_auth(client: httpx.AsyncClient) -> None:
    me = await client.get(f"{AUTH}/me")
    assert me.status_code == 200
    assert me.json()["email"] == "owner@example.com"
    assert me.headers["cache-control"] == "no-store"
    login = await client.post(
        f"{AUTH}/login", data={"username": "owner@example.com", "password": PASSWORD}
    )
    pair = login.json()
    rotated = await client.post(f"{AUTH}/refresh", json={"refresh_token": pair["refresh_token"]})
    assert rotated.status_code == 200
    reused = await client.post(f"{AUTH}/refresh", json={"refresh_token": pair["refresh_token"]})
    assert reused.json()["error"]["code"] == "TOKEN_REUSED"
    out = await client.post(
        f"{AUTH}/logout", json={"refresh_token": rotated.json()["refresh_token"]}
    )
    assert out.status_code == 204


#: The example's own pyproject.toml names the app (`[tool.bastion] app`).
EXAMPLE = Path(__file__).parents[1]


async def _run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    """Run `bastion users ARGV` from the example's directory, as a process would.

    In its own thread with its own event loop, on the example's `[tool.bastion]`.

    Returns:
        The exit status, and what it wrote to stdout and to stderr.
    """
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(EXAMPLE)
        patch.setattr("sys.stdin", io.StringIO(stdin))
        patch.setattr("sys.stdout", out)
        patch.setattr("sys.stderr", err)
        status = await anyio.to_thread.run_sync(lambda: main(["users", *argv]))
    return status, out.getvalue(), err.getvalue()


async def test_admin_users_is_for_admins_only(
    notes_settings: NotesSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "BASTION_DATABASE_URL": notes_settings.database_url.get_secret_value(),
        "BASTION_DATABASE_SCHEMA": notes_settings.database_schema or "",
        "BASTION_SECRET_KEY": notes_settings.secret_key.get_secret_value(),
        "BASTION_PASSWORD_HASH_TIME_COST": "1",
        "BASTION_PASSWORD_HASH_MEMORY_COST": "8",
        "BASTION_PASSWORD_HASH_PARALLELISM": "1",
    }.items():
        if value:
            monkeypatch.setenv(key, value)
        else:
            monkeypatch.delenv(key, raising=False)
    async with serve(create_notes_app(notes_settings)) as client:
        user = {"Authorization": f"Bearer {await sign_up(client, 'user@example.com')}"}
        forbidden = await client.get("/api/v1/admin/users", headers=user)
        assert forbidden.status_code == 403
        assert forbidden.json()["error"]["code"] == "FORBIDDEN"
        assert (await client.get("/api/v1/admin/users")).status_code == 401

        monkeypatch.setenv(PASSWORD_VARIABLE, "an admin passphrase here")
        created = await _run(["create-admin", "--email", "Root@Example.com"])
        assert created == (0, "created admin root@example.com\n", "")
        login = await client.post(
            f"{AUTH}/login",
            data={"username": "root@example.com", "password": "an admin passphrase here"},
        )
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        listed = await client.get("/api/v1/admin/users", headers=admin)
        assert listed.status_code == 200
        assert {u["email"] for u in listed.json()} == {"user@example.com", "root@example.com"}

        monkeypatch.delenv(PASSWORD_VARIABLE)
        promoted = await _run(["create-admin", "--email", "user@example.com"])
        assert promoted == (0, "promoted admin user@example.com\n", "")
        assert (await client.get("/api/v1/admin/users", headers=user)).status_code == 200

        status, out, err = await _run(["create-admin", "--email", "new@example.com"], "short\n")
        assert (status, out) == (1, "")
        assert err.startswith("bastion users create-admin: WEAK_PASSWORD: ")
        assert err.count("\n") == 1

        from_stdin = await _run(
            ["create-admin", "--email", "new@example.com"], "another admin passphrase\n"
        )
        assert from_stdin == (0, "created admin new@example.com\n", "")


def test_create_admin_on_a_database_not_migrated_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BASTION_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("BASTION_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv(PASSWORD_VARIABLE, "an admin passphrase here")
    monkeypatch.chdir(EXAMPLE)
    assert main(["users", "create-admin", "--email", "root@example.com"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "bastion users create-admin: a table is missing; "
        "is it migrated? run `bastion db upgrade` (no such table: users)\n"
    )
