"""Pooled PostgreSQL connections whose backends were terminated never reach a request."""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from conftest import sign_up  # type: ignore[import-not-found]  # this directory's conftest
from notes_app.config import NotesSettings
from notes_app.main import create_notes_app
from tests.conftest import serve

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("empty_db", ["postgres"], indirect=True),
]

NOTES = "/api/v1/notes"


async def _terminate_pooled_backends(engine: AsyncEngine, settings: NotesSettings) -> int:
    """Check out every connection the pool keeps, then end their backends server-side."""
    pids: list[int] = []
    async with AsyncExitStack() as stack:
        for _ in range(settings.database_pool_size):
            connection = await stack.enter_async_context(engine.connect())
            pids.append((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())
    admin = create_async_engine(settings.database_url.get_secret_value(), poolclass=NullPool)
    try:
        async with admin.connect() as connection:
            for pid in pids:
                await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            # pg_terminate_backend only signals: wait until every backend is gone.
            for _ in range(200):
                alive = await connection.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                    {"pids": pids},
                )
                if alive.scalar_one() == 0:
                    break
                await connection.execute(text("SELECT pg_sleep(0.01)"))
    finally:
        await admin.dispose()
    return len(pids)


@pytest.mark.parametrize(
    "changes", [{}, {"database_pool_pre_ping": True}], ids=["defaults", "pre-ping"]
)
async def test_requests_after_the_pooled_backends_were_terminated_succeed(
    notes_settings: NotesSettings, changes: dict[str, object]
) -> None:
    # A database restart, a failover or an idle-session timeout ends backends while
    # their connections sit in the pool: the next requests get fresh connections,
    # neither a 500 nor a 503, with the pre-ping (off by default) or without.
    settings = notes_settings.model_copy(update=changes)
    app = create_notes_app(settings)
    async with serve(app) as client:
        client.headers["Authorization"] = f"Bearer {await sign_up(client, 'ada@example.com')}"
        assert (await client.post(NOTES, json={"title": "before"})).status_code == 201
        engine = app.state.resources.engine
        assert await _terminate_pooled_backends(engine, settings) == settings.database_pool_size
        statuses = [
            (await client.get(NOTES)).status_code,
            (await client.post(NOTES, json={"title": "after"})).status_code,
            (await client.get("/api/v1/auth/me")).status_code,
            (await client.get("/ready")).status_code,
        ]
        titles = [note["title"] for note in (await client.get(NOTES)).json()["items"]]
    assert statuses == [200, 201, 200, 200]
    assert titles == ["after", "before"]
