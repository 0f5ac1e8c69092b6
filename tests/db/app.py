"""A small app over the test models, wired like a host app: router -> service -> repository."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, status

from bastion import create_app
from bastion.core import BastionSettings
from bastion.db import KeysetPage, OffsetPage, Search, UnitOfWork
from bastion.errors import ConflictError
from bastion.web import KeysetQuery, OffsetQuery, Resources, Uow, error_responses
from tests.db.models import (
    TagOut,
    TagRepository,
    TestBase,
    WidgetIn,
    WidgetOut,
    WidgetPatch,
    WidgetRepository,
)


class WidgetService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.widgets = WidgetRepository(uow.session)


def widget_router() -> APIRouter:
    router = APIRouter(prefix="/widgets", tags=["widgets"])

    @router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(409, 422))
    async def create(data: WidgetIn, uow: Uow) -> WidgetOut:
        return await WidgetService(uow).widgets.add(data)

    @router.get("", responses=error_responses(422))
    async def list_widgets(
        uow: Uow, page: KeysetQuery, q: Annotated[str | None, Query()] = None
    ) -> KeysetPage[WidgetOut]:
        filters = [Search(["name"], q)] if q else []
        return await WidgetService(uow).widgets.page(page, *filters, sort="-created_at")

    @router.get("/by-offset", responses=error_responses(422))
    async def offset_widgets(uow: Uow, page: OffsetQuery) -> OffsetPage[WidgetOut]:
        return await WidgetService(uow).widgets.offset_page(page, sort="name")

    @router.patch("/{widget_id}", responses=error_responses(404, 409, 422))
    async def patch(widget_id: uuid.UUID, data: WidgetPatch, uow: Uow) -> WidgetOut:
        return await WidgetService(uow).widgets.update(widget_id, data)

    @router.post("/{widget_id}/tags", status_code=201, responses=error_responses(409, 422))
    async def tag(widget_id: uuid.UUID, uow: Uow) -> TagOut:
        # The deferred foreign key is only checked when the unit of work commits.
        return await TagRepository(uow.session).add({"widget_id": widget_id, "label": "x"})

    @router.post("/explode", status_code=201, responses=error_responses(409, 422))
    async def explode(data: WidgetIn, uow: Uow) -> WidgetOut:
        await WidgetService(uow).widgets.add(data)
        raise ConflictError("written, then refused")

    @router.post("/numbered", status_code=201, responses=error_responses(409, 422))
    async def numbered(uow: Uow) -> WidgetOut:
        # Reads, then writes what it read: the pattern that races between transactions.
        widgets = WidgetService(uow).widgets
        count = await widgets.count()
        return await widgets.add(WidgetIn(name=f"widget-{count}", price=count))

    return router


def widget_app(settings: BastionSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI, resources: Resources) -> AsyncIterator[None]:
        assert resources.engine is not None
        async with resources.engine.begin() as connection:
            await connection.run_sync(TestBase.metadata.create_all)
        yield

    return create_app(settings, routers=[widget_router()], lifespan=lifespan)
