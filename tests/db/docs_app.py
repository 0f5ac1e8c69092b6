"""An app over the versioned `Doc` and the `Widget` models: ETag/If-Match and list query params."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Response, status
from pydantic import BaseModel, ConfigDict

from bastion import (
    IfMatch,
    KeysetPage,
    ListParams,
    UnitOfWork,
    create_app,
    list_query,
    provide_service,
)
from bastion.core import BastionSettings
from bastion.web import Resources, error_responses
from tests.db.models import DocOut, DocRepository, TestBase, WidgetOut, WidgetRepository


class DocIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    slug: str


class DocPatch(BaseModel):
    """A naive patch body that lets a client send `version` (refused as read-only)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    version: int | None = None


class DocService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.docs = DocRepository(uow.session)
        self.widgets = WidgetRepository(uow.session)


Docs = Annotated[DocService, Depends(provide_service(DocService))]
DocList = Annotated[
    ListParams,
    Depends(
        list_query(
            DocOut,
            filters={"title": ["eq", "search"], "slug": ["eq", "in"], "created_at": ["lt", "gt"]},
            sort=["title", "created_at"],
        )
    ),
]
WidgetList = Annotated[
    ListParams,
    Depends(
        list_query(
            WidgetOut,
            filters={
                "price": ["eq", "ne", "lt", "le", "gt", "ge", "in", "nin"],
                "category": ["eq", "isnull"],
            },
            sort=["name", "price", "created_at"],
            extra=["debug"],
        )
    ),
]


def docs_router() -> APIRouter:
    router = APIRouter(prefix="/docs")

    @router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(409, 422))
    async def create(data: DocIn, docs: Docs, match: IfMatch) -> DocOut:
        return match.tag(await docs.docs.add(data))

    @router.get("", responses=error_responses(422))
    async def list_docs(docs: Docs, query: DocList) -> KeysetPage[DocOut]:
        return await docs.docs.page(query.page, *query.filters, sort=query.sort)

    @router.get("/{doc_id}", responses=error_responses(404, 412))
    async def read(doc_id: uuid.UUID, docs: Docs, match: IfMatch) -> DocOut:
        return match.tag(await docs.docs.get(doc_id))

    @router.patch("/{doc_id}", responses=error_responses(404, 409, 412, 422))
    async def patch(doc_id: uuid.UUID, data: DocPatch, docs: Docs, match: IfMatch) -> DocOut:
        return match.tag(
            await docs.docs.update(doc_id, data, expected_version=match.expected_version)
        )

    @router.delete(
        "/{doc_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses(404, 409, 412),
    )
    async def delete(doc_id: uuid.UUID, docs: Docs, match: IfMatch) -> None:
        await docs.docs.delete(doc_id, expected_version=match.expected_version)

    return router


def widgets_router() -> APIRouter:
    router = APIRouter(prefix="/widgets")

    @router.post("", status_code=status.HTTP_201_CREATED)
    async def create(data: dict[str, object], docs: Docs) -> WidgetOut:
        return await docs.widgets.add(data)

    @router.get("", responses=error_responses(422))
    async def list_widgets(
        docs: Docs, query: WidgetList, debug: Annotated[bool, Query()] = False
    ) -> KeysetPage[WidgetOut]:
        return await docs.widgets.page(query.page, *query.filters, sort=query.sort or "price")

    return router


def docs_app(settings: BastionSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI, resources: Resources) -> AsyncIterator[None]:
        assert resources.engine is not None
        async with resources.engine.begin() as connection:
            await connection.run_sync(TestBase.metadata.create_all)
        yield

    return create_app(settings, routers=[docs_router(), widgets_router()], lifespan=lifespan)
