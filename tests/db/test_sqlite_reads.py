"""SQLite: reads and `/ready` never wait for the write lock; writers still queue."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bastion.core import BastionSettings
from bastion.db import UnitOfWork, create_engine, create_sessionmaker
from tests.conftest import serve
from tests.db.app import widget_app
from tests.db.models import WidgetIn, WidgetRepository


async def test_ready_and_reads_answer_while_a_write_transaction_holds_the_lock(
    settings: BastionSettings, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}"
    configured = settings.model_copy(update={"database_url": SecretStr(url)})
    app = widget_app(configured)
    writer = create_engine(configured)
    try:
        async with serve(app) as client:
            assert (await client.post("/api/v1/widgets", json={"name": "kept"})).status_code == 201
            # Another process (or request) is in the middle of a write transaction.
            async with UnitOfWork(create_sessionmaker(writer)) as holder:
                await WidgetRepository(holder.session).add(WidgetIn(name="pending"))
                ready = await client.get("/ready")
                listed = await client.get("/api/v1/widgets")
                await holder.rollback()
    finally:
        await writer.dispose()
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"] == "ok"
    assert listed.status_code == 200, listed.text
    assert [w["name"] for w in listed.json()["items"]] == ["kept"]


async def test_a_read_only_session_begins_deferred_and_a_default_one_immediate(
    settings: BastionSettings, tmp_path: Path
) -> None:
    # Observed through SQLite itself: while a deferred transaction has only read,
    # another connection can still take the write lock; after an immediate BEGIN
    # it cannot (busy timeout 0: refused at once).
    url = f"sqlite+aiosqlite:///{tmp_path / 'modes.db'}"
    engine = create_engine(settings.model_copy(update={"database_url": SecretStr(url)}))
    other = create_engine(
        settings.model_copy(update={"database_url": SecretStr(url), "sqlite_busy_timeout": 0})
    )

    async def lock_is_free() -> bool:
        try:
            async with other.begin():  # BEGIN IMMEDIATE
                return True
        except DBAPIError:
            return False

    try:
        seen = {}
        for read_only in (True, False):
            async with create_sessionmaker(engine, read_only=read_only)() as session:
                await session.execute(text("SELECT 1"))
                seen[read_only] = await lock_is_free()
                await session.rollback()
    finally:
        await other.dispose()
        await engine.dispose()
    assert seen == {True: True, False: False}
