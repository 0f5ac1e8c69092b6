"""`note.created`: emitted by a committed create, never by a refused one, handled after the commit."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from conftest import OWNER, sign_up  # type: ignore[import-not-found]  # this directory's conftest
from notes_app.config import NotesSettings
from notes_app.main import create_notes_app
from tests.conftest import serve


def _created_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "notes_app.events"]


async def _until_logged(caplog: pytest.LogCaptureFixture, count: int) -> None:
    for _ in range(250):  # at most 5 s
        if len(_created_lines(caplog)) >= count:
            return
        await asyncio.sleep(0.02)


async def test_creating_a_note_emits_note_created_once_after_the_commit(
    committed_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="notes_app.events")
    response = await committed_client.post("/api/v1/notes", json={"title": "t", "body": "b"})
    assert response.status_code == 201
    await _until_logged(caplog, 1)
    await asyncio.sleep(0.1)  # room for a second, wrong, delivery
    lines = _created_lines(caplog)
    assert len(lines) == 1
    assert lines[0].__dict__["note_id"] == response.json()["id"]


async def test_a_refused_create_emits_nothing(
    committed_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="notes_app.events")
    response = await committed_client.post("/api/v1/notes", json={"title": "x" * 10_000})
    assert response.status_code == 422
    await asyncio.sleep(0.2)
    assert _created_lines(caplog) == []


async def test_an_empty_redis_url_in_the_environment_still_delivers_events_in_the_process(
    notes_settings: NotesSettings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # `BASTION_REDIS_URL=` is no Redis: the events must not be left for a worker that
    # cannot run. Every other setting as the fixture's, the Redis URL from the environment.
    monkeypatch.setenv("BASTION_REDIS_URL", "")
    settings = NotesSettings(**notes_settings.model_dump(exclude={"redis_url"}))
    caplog.set_level(logging.INFO, logger="notes_app.events")
    async with serve(create_notes_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {await sign_up(client, OWNER)}"
        response = await client.post("/api/v1/notes", json={"title": "t", "body": "b"})
        assert response.status_code == 201
        await _until_logged(caplog, 1)
    assert [r.__dict__["note_id"] for r in _created_lines(caplog)] == [response.json()["id"]]
