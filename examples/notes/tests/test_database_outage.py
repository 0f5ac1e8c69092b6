"""PostgreSQL down or hung behind a TCP proxy: every database route is a 503, one log line each."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url
from tests.edge import TcpProxy

from conftest import PASSWORD, sign_up  # type: ignore[import-not-found]  # this directory's conftest
from notes_app.config import NotesSettings
from notes_app.main import create_notes_app
from tests.conftest import serve

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("empty_db", ["postgres"], indirect=True),
]

AUTH = "/api/v1/auth"
NOTES = "/api/v1/notes"


@pytest.fixture
async def proxy(notes_settings: NotesSettings) -> AsyncIterator[TcpProxy]:
    """A relay to the test PostgreSQL server that the test can cut or hang."""
    url = make_url(notes_settings.database_url.get_secret_value())
    relay = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


def _through(settings: NotesSettings, proxy: TcpProxy, **changes: object) -> NotesSettings:
    url = make_url(settings.database_url.get_secret_value()).set(port=proxy.port)
    update = {"database_url": SecretStr(url.render_as_string(hide_password=False)), **changes}
    return settings.model_copy(update=update)


async def _session(client: httpx.AsyncClient) -> tuple[dict[str, str], str, str]:
    """Sign up; return the Bearer header, a refresh token and a note id."""
    token = await sign_up(client, "ada@example.com")
    headers = {"Authorization": f"Bearer {token}"}
    login = await client.post(
        f"{AUTH}/login", data={"username": "ada@example.com", "password": PASSWORD}
    )
    note = await client.post(NOTES, json={"title": "kept"}, headers=headers)
    return headers, login.json()["refresh_token"], note.json()["id"]


def _requests(
    headers: dict[str, str], refresh_token: str, note_id: str
) -> list[tuple[str, str, dict[str, object]]]:
    return [
        ("GET", NOTES, {"headers": headers}),
        ("POST", NOTES, {"headers": headers, "json": {"title": "lost"}}),
        ("GET", f"{NOTES}/{note_id}", {"headers": headers}),
        ("GET", f"{AUTH}/me", {"headers": headers}),
        ("POST", f"{AUTH}/login", {"data": {"username": "ada@example.com", "password": PASSWORD}}),
        ("POST", f"{AUTH}/refresh", {"json": {"refresh_token": refresh_token}}),
    ]


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
    assert response.headers["retry-after"] == "1"


async def test_with_postgresql_down_every_database_route_is_a_503_logged_in_one_line(
    notes_settings: NotesSettings, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve(create_notes_app(_through(notes_settings, proxy))) as client:
        headers, refresh_token, note_id = await _session(client)
        requests = _requests(headers, refresh_token, note_id)
        await proxy.stop()
        caplog.clear()
        with caplog.at_level(logging.INFO):
            for method, path, options in requests:
                _assert_unavailable(await client.request(method, path, **options))  # type: ignore[arg-type]
        records = [r for r in caplog.records if r.name.startswith("bastion")]
        await proxy.start()
        back = await client.get(f"{NOTES}/{note_id}", headers=headers)
    assert [r for r in records if r.exc_info or r.levelno >= logging.ERROR] == []
    lines = [r.getMessage() for r in records if r.name == "bastion.errors"]
    assert len(lines) == len(requests)
    assert all(line.startswith("database unavailable: ") for line in lines)
    assert back.status_code == 200
    assert back.json()["title"] == "kept"


async def test_a_postgresql_that_never_answers_fails_within_the_timeouts_not_the_request_budget(
    notes_settings: NotesSettings, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    # Timeouts of 1 s against a 60 s request budget: a 503 (not a 504) shows the
    # request gave up on the database, first on pooled connections (the pre-ping,
    # then statements), then on new ones (the connect).
    settings = _through(
        notes_settings,
        proxy,
        database_connect_timeout=1.0,
        database_statement_timeout=1.0,
        request_timeout=60.0,
    )
    async with serve(create_notes_app(settings)) as client:
        headers, refresh_token, note_id = await _session(client)
        proxy.stall()
        caplog.clear()
        with caplog.at_level(logging.INFO):
            for method, path, options in _requests(headers, refresh_token, note_id):
                _assert_unavailable(await client.request(method, path, **options))  # type: ignore[arg-type]
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
