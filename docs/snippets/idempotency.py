"""Idempotent creates in a host app: a retried payment replays its first answer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response, status
from pydantic import BaseModel
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bastion import create_app
from bastion.core import BastionSettings
from bastion.idempotency import IdempotencyRecord, IdempotentRoute
from bastion.web import Resources, Uow


class Base(DeclarativeBase):  # in an app, use `bastion.db.Base` (with Alembic migrations)
    pass


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account: Mapped[str] = mapped_column(String(64))
    cents: Mapped[int]


class PaymentIn(BaseModel):
    cents: int


class PaymentOut(BaseModel):
    id: uuid.UUID
    cents: int


class AccountRoute(IdempotentRoute):
    """Keys belong to the account the (stand-in) `X-Account` header names."""

    async def principal(self, request: Request) -> str:
        return request.headers.get("x-account", "anonymous")


def payments_router() -> APIRouter:
    # Every POST, PUT, PATCH and DELETE of this router honours Idempotency-Key.
    router = APIRouter(prefix="/payments", route_class=AccountRoute)

    @router.post("", status_code=status.HTTP_201_CREATED)
    async def pay(data: PaymentIn, uow: Uow, request: Request, response: Response) -> PaymentOut:
        payment = Payment(account=request.headers.get("x-account", ""), cents=data.cents)
        uow.session.add(payment)
        await uow.flush()  # the payment and the idempotency record commit together
        response.headers["Location"] = f"/api/v1/payments/{payment.id}"
        return PaymentOut(id=payment.id, cents=payment.cents)

    return router


@asynccontextmanager
async def create_tables(_app: FastAPI, resources: Resources) -> AsyncIterator[None]:
    # In production, an Alembic migration creates both tables.
    assert resources.engine is not None
    async with resources.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
        # The record's table is on `bastion.db.Base.metadata`.
        await connection.run_sync(
            IdempotencyRecord.metadata.create_all, tables=[IdempotencyRecord.__table__]
        )
    yield


def create_payments_app(settings: BastionSettings) -> FastAPI:
    return create_app(settings, routers=[payments_router()], lifespan=create_tables)
