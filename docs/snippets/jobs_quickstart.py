"""Events and jobs in a host app: record `order.placed`, handle it after the commit."""

from __future__ import annotations

import logging
import uuid

from fastapi import APIRouter, FastAPI
from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bastion import create_app
from bastion.core import BastionSettings
from bastion.db import NAMING_CONVENTION, UUIDPrimaryKeyMixin
from bastion.jobs import Event, JobContext, Jobs, OutboxMixin
from bastion.web import Uow

logger = logging.getLogger("shop.events")


class Base(DeclarativeBase):  # in an app, use `bastion.db.Base` (with Alembic migrations)
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Order(UUIDPrimaryKeyMixin, Base):
    __tablename__ = "orders"

    item: Mapped[str] = mapped_column(String(100))


class OutboxMessage(OutboxMixin, Base):
    """The outbox table: include it in your migrations like any model."""

    __tablename__ = "bastion_outbox"


class OrderPlaced(Event):
    event_name = "order.placed"

    order_id: uuid.UUID
    item: str


jobs = Jobs(OutboxMessage)


@jobs.on(OrderPlaced)
async def announce(event: OrderPlaced, job: JobContext) -> None:
    # Runs after the order's transaction committed, in a unit of work of its own
    # (`job.uow`); `job.dedupe_key` is the same on every retry of this delivery.
    logger.info("order %s placed (%s)", event.order_id, event.item)


router = APIRouter()


@router.post("/orders", status_code=201)
async def place_order(item: str, uow: Uow) -> dict[str, str]:
    order = Order(item=item)
    uow.session.add(order)
    await uow.flush()
    uow.record(OrderPlaced(order_id=order.id, item=item))  # one outbox row, same transaction
    return {"id": str(order.id)}


def build(settings: BastionSettings | None = None) -> FastAPI:
    return create_app(settings, routers=[router], jobs=jobs)
