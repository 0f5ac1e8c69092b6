"""Events and jobs: what recording an event adds to a transaction, and how fast the relay moves rows.

Run: `python -m bench.jobs`. SQLite always; PostgreSQL when BASTION_TEST_DATABASE_URL is set;
the arq figures when BASTION_TEST_REDIS_URL is set too. Statement counts are exact; rates are
one timed run over a few thousand rows (the machine is shared: read them as orders of magnitude).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from pydantic import BaseModel, SecretStr
from sqlalchemy import MetaData, String, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import NullPool

from bastion import create_app
from bastion.core import BastionSettings
from bastion.db import NAMING_CONVENTION, Base, UnitOfWork, UUIDPrimaryKeyMixin, create_engine
from bastion.jobs import Event, JobContext, Jobs, JobsConfig, OutboxMixin, OutboxRelay
from bastion.web import Resources

ROWS = 5_000


class BenchBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = Base.type_annotation_map


class Thing(UUIDPrimaryKeyMixin, BenchBase):
    __tablename__ = "bench_things"

    name: Mapped[str] = mapped_column(String(50))


class Outbox(OutboxMixin, BenchBase):
    __tablename__ = "bench_outbox"


class ThingMade(Event):
    event_name = "thing.made"

    thing_id: uuid.UUID


class Ping(BaseModel):
    n: int


def bench_jobs() -> Jobs:
    jobs = Jobs(Outbox, JobsConfig(batch_size=500))

    @jobs.on(ThingMade, name="noop")
    async def noop(event: ThingMade, job: JobContext) -> None:
        return None

    @jobs.job(Ping, name="ping")
    async def ping(arguments: Ping, job: JobContext) -> None:
        return None

    return jobs


@asynccontextmanager
async def database(kind: str) -> AsyncIterator[BastionSettings]:
    base = BastionSettings(environment="test", configure_logging=False)
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'jobs.db'}"
            yield await _created(base.model_copy(update={"database_url": SecretStr(url)}))
        return
    url = os.environ["BASTION_TEST_DATABASE_URL"]
    schema = f"bench_jobs_{secrets.token_hex(4)}"
    admin = create_async_engine(url, poolclass=NullPool)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        settings = base.model_copy(
            update={"database_url": SecretStr(url), "database_schema": schema}
        )
        yield await _created(settings)
    finally:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def _created(settings: BastionSettings) -> BastionSettings:
    engine = create_engine(settings)
    async with engine.begin() as connection:
        await connection.run_sync(BenchBase.metadata.create_all)
    await engine.dispose()
    return settings


async def statements_added(resources: Resources) -> tuple[list[str], list[str]]:
    """The statements of one write without and with a recorded event."""
    assert resources.engine is not None
    assert resources.sessionmaker is not None
    seen: list[str] = []

    def count(conn: Connection, cursor: object, sql: str, *args: object) -> None:
        seen.append(sql.split()[0].upper())

    async def write(record: bool) -> list[str]:
        seen.clear()
        assert resources.sessionmaker is not None
        async with UnitOfWork(resources.sessionmaker, jobs=resources.jobs) as uow:
            thing = Thing(name="x")
            uow.session.add(thing)
            await uow.flush()
            if record:
                uow.record(ThingMade(thing_id=thing.id))
        return list(seen)

    event.listen(resources.engine.sync_engine, "before_cursor_execute", count)
    try:
        return await write(False), await write(True)
    finally:
        event.remove(resources.engine.sync_engine, "before_cursor_execute", count)


async def fill(resources: Resources, jobs: Jobs) -> None:
    assert resources.sessionmaker is not None
    ping = jobs.handler("ping")
    assert ping is not None
    async with UnitOfWork(resources.sessionmaker, jobs=jobs) as uow:
        for n in range(ROWS):
            uow.enqueue(ping.function, Ping(n=n))


async def relay_rate(resources: Resources, jobs: Jobs, redis_url: str | None) -> None:
    relay = OutboxRelay(jobs, resources)
    await fill(resources, jobs)
    if redis_url is None:
        started = time.perf_counter()
        while await relay.run_once(lambda row_id, attempts: relay.deliver(row_id)):
            pass
        elapsed = time.perf_counter() - started
        print(f"    in process, claim + deliver: {ROWS / elapsed:,.0f} rows/s")
        return
    from bastion.jobs.worker import JobsWorker

    async with JobsWorker(resources, burst=True, handle_signals=False) as worker:
        started = time.perf_counter()
        while await relay.run_once(worker.dispatch):
            pass
        relayed = time.perf_counter() - started
        started = time.perf_counter()
        await worker.run()
        ran = time.perf_counter() - started
    print(f"    relay (claim + enqueue to arq): {ROWS / relayed:,.0f} rows/s  (target >= 1,000)")
    print(f"    one arq worker delivering them: {ROWS / ran:,.0f} rows/s")


async def run(kind: str, redis_url: str | None) -> None:
    async with database(kind) as settings:
        if redis_url is not None:
            settings = settings.model_copy(update={"redis_url": SecretStr(redis_url)})
        else:  # rows are dispatched by this bench, not by the app's own task
            settings = settings.model_copy(update={"redis_url": SecretStr("redis://127.0.0.1:1")})
        jobs = bench_jobs()
        app = create_app(settings, jobs=jobs)
        async with app.router.lifespan_context(app):
            resources: Resources = app.state.resources
            without, with_event = await statements_added(resources)
            print(f"  {kind}:")
            print(f"    write without an event: {len(without)} statements {without}")
            print(
                f"    write with an event:    {len(with_event)} statements {with_event}"
                f"  (+{len(with_event) - len(without)}; target <= +1 INSERT)"
            )
            await relay_rate(resources, jobs, redis_url if kind == "postgres" else None)


def main() -> None:
    asyncio.run(run("sqlite", None))
    if os.environ.get("BASTION_TEST_DATABASE_URL"):
        asyncio.run(run("postgres", os.environ.get("BASTION_TEST_REDIS_URL")))


if __name__ == "__main__":
    main()
