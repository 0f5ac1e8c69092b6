"""A small host app with events and jobs: items, an outbox, and handlers that record deliveries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bastion import create_app
from bastion.core import BastionSettings
from bastion.db import UUIDPrimaryKeyMixin
from bastion.jobs import Event, JobContext, Jobs, JobsConfig, OutboxMixin
from bastion.web import Uow
from tests.db.models import TestBase


class Item(UUIDPrimaryKeyMixin, TestBase):
    __tablename__ = "job_items"

    name: Mapped[str] = mapped_column(String(50))


class Delivery(UUIDPrimaryKeyMixin, TestBase):
    """What a handler wrote: one row per delivery, keyed by the dedupe key."""

    __tablename__ = "job_deliveries"

    dedupe_key: Mapped[uuid.UUID] = mapped_column(unique=True)
    handler: Mapped[str] = mapped_column(String(50))


class OutboxMessage(OutboxMixin, TestBase):
    __tablename__ = "bastion_outbox"


class ItemCreated(Event):
    event_name = "item.created"

    item_id: uuid.UUID
    name: str


class Greeting(BaseModel):
    to: str


@dataclass
class Calls:
    """What the handlers saw, in order, and how many times the flaky one must still fail."""

    seen: list[tuple[str, uuid.UUID, int]] = field(default_factory=list)
    failures_left: int = 0


def build_jobs(calls: Calls, config: JobsConfig | None = None) -> Jobs:
    jobs = Jobs(OutboxMessage, config or JobsConfig(poll_interval=0.05))

    @jobs.on(ItemCreated, name="record_item")
    async def record_item(event: ItemCreated, job: JobContext) -> None:
        calls.seen.append(("record_item", job.dedupe_key, job.attempt))
        delivery = Delivery()
        delivery.dedupe_key, delivery.handler = job.dedupe_key, "record_item"
        job.uow.session.add(delivery)
        await job.uow.flush()
        if calls.failures_left > 0:
            calls.failures_left -= 1
            raise RuntimeError("flaky handler")

    @jobs.job(Greeting, name="greet")
    async def greet(greeting: Greeting, job: JobContext) -> None:
        calls.seen.append((f"greet:{greeting.to}", job.dedupe_key, job.attempt))

    return jobs


def items_router(jobs: Jobs) -> APIRouter:
    router = APIRouter()
    greet = jobs.handler("greet")
    assert greet is not None

    @router.post("/items", status_code=201)
    async def create_item(uow: Uow, name: str, fail: bool = False) -> dict[str, str]:
        item = Item()
        item.name = name
        uow.session.add(item)
        await uow.flush()
        uow.record(ItemCreated(item_id=item.id, name=name))
        uow.enqueue(greet.function, Greeting(to=name))
        if fail:
            raise HTTPException(409, "refused after recording")
        return {"id": str(item.id)}

    return router


def jobs_app(settings: BastionSettings, jobs: Jobs) -> FastAPI:
    return create_app(settings, routers=[items_router(jobs)], jobs=jobs)
