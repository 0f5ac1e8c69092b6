"""An app with idempotent routes over a small table: writes, failures, a gate, a principal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import String, func, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from starlette.responses import StreamingResponse

from bastion import create_app
from bastion.core import BastionSettings
from bastion.errors import ConflictError
from bastion.idempotency import IdempotencyRecord, IdempotentRoute
from bastion.web import Resources, Uow


class ItemBase(DeclarativeBase):
    pass


class Item(ItemBase):
    __tablename__ = "idem_items"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)


class ItemOut(BaseModel):
    id: int
    name: str


class HeaderPrincipalRoute(IdempotentRoute):
    """Names the caller by an `X-User` header (the tests' stand-in for authentication)."""

    async def principal(self, request: Request) -> str:
        return request.headers.get("x-user", "anonymous")


def items_router(gate: asyncio.Event, entered: asyncio.Event) -> APIRouter:
    router = APIRouter(prefix="/items", route_class=HeaderPrincipalRoute)

    @router.post("", status_code=status.HTTP_201_CREATED)
    async def create(data: ItemIn, uow: Uow, response: Response) -> ItemOut:
        new_id = await uow.session.scalar(insert(Item).values(name=data.name).returning(Item.id))
        assert new_id is not None
        response.headers["Location"] = f"/api/v1/items/{new_id}"
        response.headers["ETag"] = f'"{new_id}"'
        response.headers["X-Not-Replayed"] = "first"
        return ItemOut(id=new_id, name=data.name)

    @router.post("/copy", status_code=status.HTTP_201_CREATED)
    async def create_copy(data: ItemIn, uow: Uow) -> ItemOut:
        new_id = await uow.session.scalar(insert(Item).values(name=data.name).returning(Item.id))
        assert new_id is not None
        return ItemOut(id=new_id, name=data.name)

    @router.post("/explode", status_code=status.HTTP_201_CREATED)
    async def explode(data: ItemIn, uow: Uow) -> ItemOut:
        await uow.session.execute(insert(Item).values(name=data.name))
        raise ConflictError("written, then refused")

    @router.post("/gated", status_code=status.HTTP_201_CREATED)
    async def gated(data: ItemIn, uow: Uow) -> ItemOut:
        new_id = await uow.session.scalar(insert(Item).values(name=data.name).returning(Item.id))
        assert new_id is not None
        entered.set()
        await gate.wait()
        return ItemOut(id=new_id, name=data.name)

    @router.post("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"x"

        return StreamingResponse(chunks())

    @router.get("")
    async def count(uow: Uow) -> dict[str, int]:
        total = await uow.session.scalar(select(func.count()).select_from(Item))
        return {"count": total or 0}

    return router


def plain_router() -> APIRouter:
    """A route without the option: keys mean nothing to it."""
    router = APIRouter(prefix="/plain")

    @router.post("", status_code=status.HTTP_201_CREATED)
    async def create(
        data: ItemIn,
        uow: Uow,
        key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> ItemOut:
        new_id = await uow.session.scalar(insert(Item).values(name=data.name).returning(Item.id))
        assert new_id is not None
        return ItemOut(id=new_id, name=data.name)

    return router


@asynccontextmanager
async def create_tables(_app: FastAPI, resources: Resources) -> AsyncIterator[None]:
    assert resources.engine is not None
    async with resources.engine.begin() as connection:
        await connection.run_sync(ItemBase.metadata.create_all)
        await connection.run_sync(
            IdempotencyRecord.metadata.create_all, tables=[IdempotencyRecord.__table__]
        )
    yield


def idempotent_app(
    settings: BastionSettings,
    *,
    gate: asyncio.Event | None = None,
    entered: asyncio.Event | None = None,
) -> FastAPI:
    return create_app(
        settings,
        routers=[items_router(gate or asyncio.Event(), entered or asyncio.Event()), plain_router()],
        lifespan=create_tables,
    )
