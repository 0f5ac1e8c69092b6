"""A route's own statements (not a repository's): driver errors answered as `translate_errors` does.

Outages and contention are a 503 `DATABASE_UNAVAILABLE` with `Retry-After`, as
through a repository; what `translate_errors` leaves alone stays a 500.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import SecretStr
from sqlalchemy import text

from bastion import create_app
from bastion.core import BastionSettings
from bastion.db import (
    DatabaseUnavailableError,
    UnitOfWork,
    create_engine,
    create_sessionmaker,
    translate_errors,
)
from bastion.web import Resources, Uow
from tests.conftest import serve
from tests.db.conftest import temporary_database
from tests.db.models import TestBase, WidgetIn, WidgetPatch, WidgetRepository

CLOSED_PORT_URL = SecretStr("postgresql+asyncpg://postgres@127.0.0.1:9/nothing")


def _raw_router() -> APIRouter:
    router = APIRouter()

    @router.get("/one")
    async def one(uow: Uow) -> dict[str, int]:
        return {"one": (await uow.session.execute(text("SELECT 1"))).scalar_one()}

    @router.get("/slow")
    async def slow(uow: Uow) -> dict[str, str]:
        await uow.session.execute(text("SELECT pg_sleep(5)"))
        return {"slept": "yes"}

    @router.get("/cancelled")
    async def cancelled(uow: Uow) -> dict[str, str]:
        await uow.session.execute(text("SET LOCAL statement_timeout = '100ms'"))
        await uow.session.execute(text("SELECT pg_sleep(5)"))
        return {"slept": "yes"}

    @router.post("/locked")
    async def locked(uow: Uow) -> dict[str, str]:
        await uow.session.execute(text("SET LOCAL lock_timeout = '100ms'"))
        await uow.session.execute(text("SELECT id FROM widgets FOR UPDATE"))
        return {"locked": "yes"}

    @router.get("/broken")
    async def broken(uow: Uow) -> dict[str, str]:
        await uow.session.execute(text("SELECT * FROM no_such_table"))
        return {"never": "here"}

    return router


def _app(settings: BastionSettings, *, tables: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI, resources: Resources) -> AsyncIterator[None]:
        if tables:
            assert resources.engine is not None
            async with resources.engine.begin() as connection:
                await connection.run_sync(TestBase.metadata.create_all)
        yield

    return create_app(settings, routers=[_raw_router()], lifespan=lifespan, database=True)


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
    assert response.headers["retry-after"] == "1"


async def test_a_routes_own_statement_is_a_503_while_the_database_is_down(
    settings: BastionSettings,
) -> None:
    app = _app(settings.model_copy(update={"database_url": CLOSED_PORT_URL}), tables=False)
    async with serve(app) as client:
        _assert_unavailable(await client.get("/api/v1/one"))


async def test_a_routes_own_bad_sql_is_still_a_500(
    settings: BastionSettings, tmp_path: Path
) -> None:
    async with (
        temporary_database("sqlite", settings, tmp_path) as db,
        serve(_app(db)) as client,
    ):
        response = await client.get("/api/v1/broken")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"


@pytest.mark.postgres
async def test_a_routes_own_statement_cut_by_the_statement_timeout_is_a_503(
    settings: BastionSettings, tmp_path: Path, postgres_url: str
) -> None:
    async with temporary_database("postgres", settings, tmp_path, postgres_url) as db:
        app = _app(db.model_copy(update={"database_statement_timeout": 0.2}))
        async with serve(app) as client:
            _assert_unavailable(await client.get("/api/v1/slow"))
            assert (await client.get("/api/v1/one")).status_code == 200  # the pool recovered


@pytest.mark.postgres
async def test_a_routes_own_statement_cancelled_by_the_servers_statement_timeout_is_a_503(
    settings: BastionSettings, tmp_path: Path, postgres_url: str
) -> None:
    async with (
        temporary_database("postgres", settings, tmp_path, postgres_url) as db,
        serve(_app(db)) as client,
    ):
        _assert_unavailable(await client.get("/api/v1/cancelled"))
        assert (await client.get("/api/v1/one")).status_code == 200


@pytest.mark.postgres
async def test_a_routes_own_statement_that_waits_out_the_lock_timeout_is_a_503(
    settings: BastionSettings, tmp_path: Path, postgres_url: str
) -> None:
    async with temporary_database("postgres", settings, tmp_path, postgres_url) as db:
        app = _app(db)
        async with serve(app) as client:
            sessionmaker = app.state.resources.sessionmaker
            async with UnitOfWork(sessionmaker) as holder:
                await WidgetRepository(holder.session).add(WidgetIn(name="held"))
            async with UnitOfWork(sessionmaker) as holder:
                await holder.session.execute(text("SELECT id FROM widgets FOR UPDATE"))
                _assert_unavailable(await client.post("/api/v1/locked"))
            assert (await client.post("/api/v1/locked")).status_code == 200


@pytest.mark.postgres
async def test_a_deadlock_and_a_serialization_failure_are_503s(
    settings: BastionSettings, tmp_path: Path, postgres_url: str
) -> None:
    async with temporary_database("postgres", settings, tmp_path, postgres_url) as db:
        engine = create_engine(db)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(TestBase.metadata.create_all)
            maker = create_sessionmaker(engine)
            async with UnitOfWork(maker) as uow:
                repo = WidgetRepository(uow.session)
                a = await repo.add(WidgetIn(name="a"))
                b = await repo.add(WidgetIn(name="b"))

            # A deadlock: each transaction holds one row and waits for the other's.
            first_holds, second_holds = asyncio.Event(), asyncio.Event()

            async def cross(
                mine: uuid.UUID, theirs: uuid.UUID, held: asyncio.Event, wait: asyncio.Event
            ) -> None:
                async with UnitOfWork(maker) as uow:
                    repo = WidgetRepository(uow.session)
                    await repo.update(mine, WidgetPatch(name=f"{mine}-1"))
                    held.set()
                    await wait.wait()
                    await repo.update(theirs, WidgetPatch(name=f"{theirs}-2"))

            outcomes = await asyncio.gather(
                cross(a.id, b.id, first_holds, second_holds),
                cross(b.id, a.id, second_holds, first_holds),
                return_exceptions=True,
            )
            errors = [o for o in outcomes if isinstance(o, BaseException)]
            assert len(errors) == 1, outcomes
            assert isinstance(errors[0], DatabaseUnavailableError), repr(errors[0])

            # A serialization failure: a REPEATABLE READ transaction updates a row
            # another committed after its snapshot was taken.
            async with engine.connect() as reader:
                await reader.execution_options(isolation_level="REPEATABLE READ")
                await reader.begin()
                await reader.execute(text("SELECT count(*) FROM widgets"))
                async with UnitOfWork(maker) as uow:
                    await WidgetRepository(uow.session).update(a.id, WidgetPatch(name="moved"))
                with pytest.raises(DatabaseUnavailableError), translate_errors():
                    await reader.execute(
                        text("UPDATE widgets SET name = 'late' WHERE id = :id"), {"id": a.id}
                    )
        finally:
            await engine.dispose()
