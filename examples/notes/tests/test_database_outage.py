"""PostgreSQL down or hung behind a TCP proxy: every database route is a 503, one log line each."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.engine import make_url
from tests.edge import TcpProxy, clear_redis_keys

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


@pytest.mark.redis
async def test_a_refresh_whose_commit_answer_is_lost_returns_the_pair_it_kept(
    notes_settings: NotesSettings, proxy: TcpProxy, redis_url: str
) -> None:
    # The connection drops after PostgreSQL committed the rotation, before the client
    # heard so. A 503 would leave the client with its spent token, whose retry is
    # taken for a stolen one: the family revoked, the user logged out. (With Redis the
    # app leaves its events to a worker: no relay in the process shares the proxy.)
    prefix = f"bastion-test-{uuid.uuid4().hex}"
    settings = _through(
        notes_settings, proxy, redis_url=SecretStr(redis_url), ratelimit_key_prefix=prefix
    )
    app = create_notes_app(settings)
    try:
        async with serve(app) as client:
            _, refresh_token, _ = await _session(client)
            engine = app.state.resources.engine.sync_engine
            armed = [True]

            def lose_the_answer(connection: object) -> None:
                if armed[0]:
                    armed[0] = False
                    proxy.lose_next_reply()

            event.listen(engine, "commit", lose_the_answer)
            try:
                rotated = await client.post(
                    f"{AUTH}/refresh", json={"refresh_token": refresh_token}
                )
            finally:
                event.remove(engine, "commit", lose_the_answer)
            following = await client.post(
                f"{AUTH}/refresh", json={"refresh_token": rotated.json().get("refresh_token")}
            )
    finally:
        await clear_redis_keys(redis_url, prefix)
    assert not armed[0]  # the commit's answer was lost
    assert rotated.status_code == 200, rotated.text
    assert following.status_code == 200, following.text


async def test_a_refresh_whose_commit_never_reached_the_database_is_a_503_and_can_be_retried(
    notes_settings: NotesSettings, proxy: TcpProxy
) -> None:
    app = create_notes_app(_through(notes_settings, proxy))
    async with serve(app) as client:
        _, refresh_token, _ = await _session(client)
        engine = app.state.resources.engine.sync_engine
        armed = [True]

        async def cut() -> None:
            await proxy.stop()

        cutting: list[asyncio.Task[None]] = []

        def cut_before_the_commit(connection: object) -> None:
            if armed[0]:
                armed[0] = False
                proxy.stall()  # the COMMIT goes nowhere
                cutting.append(asyncio.get_running_loop().create_task(cut()))

        event.listen(engine, "commit", cut_before_the_commit)
        try:
            lost = await client.post(f"{AUTH}/refresh", json={"refresh_token": refresh_token})
        finally:
            event.remove(engine, "commit", cut_before_the_commit)
        await asyncio.gather(*cutting)
        await proxy.start()
        retried = await client.post(f"{AUTH}/refresh", json={"refresh_token": refresh_token})
    _assert_unavailable(lost)
    assert retried.status_code == 200, retried.text


async def test_ready_answers_within_its_own_timeout_while_postgresql_never_answers(
    notes_settings: NotesSettings, proxy: TcpProxy
) -> None:
    # A 2 s request budget against a 0.3 s readiness timeout: a 504 would show /ready
    # waited on the stalled connection's clean-up, past its own timeout.
    settings = _through(notes_settings, proxy, ready_timeout=0.3, request_timeout=2.0)
    async with serve(create_notes_app(settings)) as client:
        assert (await client.get("/ready")).status_code == 200
        proxy.stall()
        stalled = await client.get("/ready")
    assert stalled.status_code == 503, stalled.text
    assert stalled.json()["error"]["details"]["checks"]["database"] == "timeout"
