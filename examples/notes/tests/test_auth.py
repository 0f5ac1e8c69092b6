"""The notes service with accounts: owner-scoped notes, the admin route, the admin command."""

from __future__ import annotations

import io
from pathlib import Path

import anyio.to_thread
import httpx
import pytest

from conftest import PASSWORD, sign_up  # type: ignore[import-not-found]  # this directory's conftest
from notes_app.admin import PASSWORD_VARIABLE, main
from notes_app.config import NotesSettings
from notes_app.main import create_notes_app
from tests.conftest import TEST_SECRET, serve

NOTES = "/api/v1/notes"
AUTH = "/api/v1/auth"


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


async def _run(argv: list[str], stdin: io.StringIO, stdout: io.StringIO) -> int:
    """Run the command as a process would: in its own thread with its own event loop."""
    return await anyio.to_thread.run_sync(lambda: main(argv, stdin=stdin, stdout=stdout))


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
        out = io.StringIO()
        assert await _run(["--email", "Root@Example.com"], io.StringIO(), out) == 0
        assert out.getvalue() == "created admin root@example.com\n"
        login = await client.post(
            f"{AUTH}/login",
            data={"username": "root@example.com", "password": "an admin passphrase here"},
        )
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        listed = await client.get("/api/v1/admin/users", headers=admin)
        assert listed.status_code == 200
        assert {u["email"] for u in listed.json()} == {"user@example.com", "root@example.com"}

        monkeypatch.delenv(PASSWORD_VARIABLE)
        promoted = io.StringIO()
        stdin = io.StringIO("ignored for an existing account\n")
        assert await _run(["--email", "user@example.com"], stdin, promoted) == 0
        assert promoted.getvalue() == "promoted admin user@example.com\n"
        assert (await client.get("/api/v1/admin/users", headers=user)).status_code == 200

        weak = io.StringIO()
        assert await _run(["--email", "new@example.com"], io.StringIO("short\n"), weak) == 1
        assert "WEAK_PASSWORD" in weak.getvalue()


def test_create_admin_on_a_database_not_migrated_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BASTION_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("BASTION_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv(PASSWORD_VARIABLE, "an admin passphrase here")
    out = io.StringIO()
    assert main(["--email", "root@example.com"], stdout=out) == 1
    assert out.getvalue().count("\n") == 1
    assert (
        "is it migrated? `bastion db upgrade --migrations notes_app:migrations`" in out.getvalue()
    )
