"""`provide_service`: a service built per request on the request's unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI

from bastion import create_app
from bastion import provide_service as provide
from bastion.core import BastionSettings
from bastion.db import UnitOfWork
from bastion.errors import ConflictError
from bastion.web import AppSettings, Resources
from tests.conftest import serve
from tests.db.models import TestBase, WidgetRepository


class Counter:
    """A service that takes the app's settings after its unit of work."""

    def __init__(self, uow: UnitOfWork, settings: BastionSettings) -> None:
        self.uow = uow
        self.widgets = WidgetRepository(uow.session)
        self.app_name = settings.app_name


Counters = Annotated[Counter, Depends(provide(Counter, AppSettings))]


async def test_the_service_gets_the_requests_unit_of_work_and_its_extra_dependencies(
    db_settings: BastionSettings,
) -> None:
    router = APIRouter()
    seen: list[UnitOfWork] = []

    @router.post("/count")
    async def count(counters: Counters, again: Counters) -> dict[str, object]:
        seen.extend([counters.uow, again.uow])
        await counters.widgets.add({"name": f"w{len(seen)}"})
        return {"app": counters.app_name, "count": await again.widgets.count()}

    @router.post("/fail")
    async def fail(counters: Counters) -> None:
        await counters.widgets.add({"name": "lost"})
        raise ConflictError()

    @asynccontextmanager
    async def tables(_app: FastAPI, resources: Resources) -> AsyncIterator[None]:
        assert resources.engine is not None
        async with resources.engine.begin() as connection:
            await connection.run_sync(TestBase.metadata.create_all)
        yield

    app = create_app(db_settings, routers=[router], lifespan=tables)
    async with serve(app) as client:
        first = await client.post("/api/v1/count")
        assert first.json() == {"app": db_settings.app_name, "count": 1}
        assert seen[0] is seen[1]  # one unit of work per request, shared
        assert (await client.post("/api/v1/fail")).status_code == 409
        second = await client.post("/api/v1/count")
    assert second.json()["count"] == 2  # the failed request's write was rolled back
