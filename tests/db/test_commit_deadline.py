"""The request timeout never lands inside COMMIT: it cancels only before the commit starts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion import create_app
from bastion.core import BastionSettings
from bastion.db import UnitOfWork
from bastion.web import Resources, Uow
from tests.db.models import TestBase, WidgetIn, WidgetOut, WidgetRepository
from tests.edge import serve_as

# The budget of a request that reaches its commit; the stalled routes get a short one.
BUDGET = 1.0


class CommitGate:
    """Holds every COMMIT on an engine until the test opens the gate: a slow COMMIT."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()

    def install(self, engine: AsyncEngine) -> None:
        @event.listens_for(engine.sync_engine, "commit")
        def hold(connection: Connection) -> None:
            if self.opened.is_set():
                return

            async def wait(_driver_connection: object) -> None:
                self.entered.set()
                await self.opened.wait()

            # Runs inside the commit, right before the driver's COMMIT.
            connection.connection.dbapi_connection.run_async(wait)  # type: ignore[union-attr]


def _router() -> APIRouter:
    router = APIRouter(prefix="/widgets")

    @router.post("", status_code=201)
    async def create(data: WidgetIn, uow: Uow) -> WidgetOut:
        return await WidgetRepository(uow.session).add(data)

    @router.post("/stalled", status_code=201)
    async def stalled(data: WidgetIn, uow: Uow) -> WidgetOut:
        widget = await WidgetRepository(uow.session).add(data)
        await asyncio.Event().wait()  # never set: the budget runs out before the commit
        return widget

    @router.post("/stubborn", status_code=201)
    async def stubborn(data: WidgetIn, uow: Uow) -> WidgetOut:
        widget = await WidgetRepository(uow.session).add(data)
        # A badly behaved endpoint: it swallows the timeout's cancellation and
        # returns as if in time, so its unit of work goes on to commit.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        return widget

    return router


def _app(settings: BastionSettings, gate: CommitGate) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI, resources: Resources) -> AsyncIterator[None]:
        assert resources.engine is not None
        async with resources.engine.begin() as connection:
            await connection.run_sync(TestBase.metadata.create_all)
        gate.install(resources.engine)
        yield

    timed = settings.model_copy(
        update={
            "request_timeout": BUDGET,
            "request_timeout_routes": {
                "/api/v1/widgets/stalled": 0.05,
                "/api/v1/widgets/stubborn": 0.05,
            },
        }
    )
    return create_app(timed, routers=[_router()], lifespan=lifespan)


async def _names(app: FastAPI) -> list[str]:
    async with UnitOfWork(app.state.resources.sessionmaker) as uow:
        return [widget.name for widget in await WidgetRepository(uow.session).list()]


async def test_a_commit_slower_than_the_budget_answers_its_real_success_and_keeps_the_row(
    db_settings: BastionSettings,
) -> None:
    gate = CommitGate()
    app = _app(db_settings, gate)
    async with serve_as(app) as client:
        request = asyncio.ensure_future(client.post("/api/v1/widgets", json={"name": "bolt"}))
        entered = asyncio.ensure_future(gate.entered.wait())
        await asyncio.wait({request, entered}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        assert entered.done(), "the request never reached its commit"
        # The request's deadline passes while its COMMIT is held (the event loop
        # runs its timer before this sleep's, which is due later).
        await asyncio.sleep(BUDGET)
        assert not request.done()
        gate.opened.set()
        response = await request
        assert response.status_code == 201
        assert response.json()["name"] == "bolt"
        assert await _names(app) == ["bolt"]


async def test_a_request_cut_before_its_commit_answers_504_and_writes_nothing(
    db_settings: BastionSettings,
) -> None:
    gate = CommitGate()
    gate.opened.set()
    app = _app(db_settings, gate)
    async with serve_as(app) as client:
        response = await client.post("/api/v1/widgets/stalled", json={"name": "bolt"})
        assert response.status_code == 504
        assert response.json()["error"]["code"] == "REQUEST_TIMEOUT"
        assert await _names(app) == []
        # The app serves on, and commits, afterwards.
        assert (await client.post("/api/v1/widgets", json={"name": "nut"})).status_code == 201
        assert await _names(app) == ["nut"]


async def test_a_commit_after_the_deadline_passed_is_refused_even_if_the_endpoint_swallowed_it(
    db_settings: BastionSettings,
) -> None:
    gate = CommitGate()
    gate.opened.set()
    app = _app(db_settings, gate)
    async with serve_as(app) as client:
        response = await client.post("/api/v1/widgets/stubborn", json={"name": "bolt"})
        assert response.status_code == 504
        assert response.json()["error"]["code"] == "REQUEST_TIMEOUT"
        assert await _names(app) == []
