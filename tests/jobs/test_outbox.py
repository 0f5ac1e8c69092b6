"""Events and jobs: written with the request's change, delivered after its commit, once each."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import event, func, select, update
from sqlalchemy.engine import Connection

from bastion.core import BastionSettings
from bastion.db import UnitOfWork, create_engine, utcnow
from bastion.jobs import Jobs, JobsConfig, OutboxRelay, OutboxState, prune
from bastion.web import Resources
from tests.conftest import serve
from tests.db.conftest import temporary_database
from tests.db.models import TestBase
from tests.jobs.app import (
    Calls,
    Delivery,
    Greeting,
    Item,
    ItemCreated,
    OutboxMessage,
    build_jobs,
    jobs_app,
)

#: A Redis URL nothing listens on: the app then leaves dispatching to workers (the test).
NO_REDIS = SecretStr("redis://127.0.0.1:1/0")


async def _delivered(resources: Resources, count: int) -> list[OutboxMessage]:
    """The outbox rows, once `count` of them are delivered (bounded wait)."""
    for _ in range(250):
        rows = await _rows(resources)
        if sum(row.state == OutboxState.DELIVERED for row in rows) >= count:
            return rows
        await asyncio.sleep(0.02)
    raise AssertionError("the rows were never delivered")


async def _rows(resources: Resources) -> list[OutboxMessage]:
    assert resources.sessionmaker is not None
    async with UnitOfWork(resources.sessionmaker) as uow:
        return list((await uow.session.scalars(select(OutboxMessage))).all())


async def test_a_request_writes_its_events_and_jobs_and_they_run_after_the_commit(
    jobs_settings: BastionSettings, calls: Calls
) -> None:
    jobs = build_jobs(calls)
    app = jobs_app(jobs_settings, jobs)
    async with serve(app) as client:
        response = await client.post("/api/v1/items", params={"name": "first"})
        assert response.status_code == 201
        rows = await _delivered(app.state.resources, 2)
    assert sorted(name for name, _, _ in calls.seen) == ["greet:first", "record_item"]
    assert {row.state for row in rows} == {OutboxState.DELIVERED}
    # The dedupe key a handler gets is its row's id, and the first run is attempt 1.
    assert {key for _, key, _ in calls.seen} == {row.id for row in rows}
    assert {attempt for _, _, attempt in calls.seen} == {1}
    item_row = next(row for row in rows if row.kind == "event")
    assert (item_row.event_name, item_row.event_version) == ("item.created", 1)
    assert item_row.payload["name"] == "first"


async def test_a_rolled_back_request_asks_for_nothing(
    jobs_settings: BastionSettings, calls: Calls
) -> None:
    app = jobs_app(jobs_settings, build_jobs(calls))
    async with serve(app) as client:
        response = await client.post("/api/v1/items", params={"name": "refused", "fail": "true"})
        assert response.status_code == 409
        await asyncio.sleep(0.2)  # a dispatcher that had something would have run it
        assert await _rows(app.state.resources) == []
    assert calls.seen == []


async def test_an_event_adds_one_insert_to_the_transaction(
    jobs_settings: BastionSettings, calls: Calls
) -> None:
    # Redis configured: no dispatcher in this process adds statements of its own.
    settings = jobs_settings.model_copy(update={"redis_url": NO_REDIS})
    app = jobs_app(settings, build_jobs(calls))
    async with app.router.lifespan_context(app):
        resources: Resources = app.state.resources
        assert resources.engine is not None
        assert resources.sessionmaker is not None
        statements: list[str] = []

        def count(conn: Connection, cursor: object, sql: str, *args: object) -> None:
            statements.append(sql.split()[0].upper())

        async def write(record: bool) -> list[str]:
            statements.clear()
            async with UnitOfWork(resources.sessionmaker, jobs=resources.jobs) as uow:
                item = Item()
                item.name = "counted"
                uow.session.add(item)
                await uow.flush()
                if record:
                    uow.record(ItemCreated(item_id=item.id, name="counted"))
            return list(statements)

        event.listen(resources.engine.sync_engine, "before_cursor_execute", count)
        try:
            without = await write(record=False)
            with_event = await write(record=True)
        finally:
            event.remove(resources.engine.sync_engine, "before_cursor_execute", count)
    assert len(with_event) == len(without) + 1
    assert with_event.count("INSERT") == without.count("INSERT") + 1


async def test_a_failing_handler_is_retried_with_backoff_then_dead_lettered(
    jobs_settings: BastionSettings, calls: Calls, caplog: pytest.LogCaptureFixture
) -> None:
    calls.failures_left = 10
    config = JobsConfig(max_attempts=3, retry_base=0.2, poll_interval=0.05)
    jobs = build_jobs(calls, config)
    app = jobs_app(jobs_settings, jobs)
    caplog.set_level(logging.WARNING, logger="bastion.jobs")
    async with serve(app) as client:
        await client.post("/api/v1/items", params={"name": "flaky"})
        for _ in range(500):  # at most 10 s: three runs and two backoffs
            rows = await _rows(app.state.resources)
            if any(row.state == OutboxState.DEAD for row in rows):
                break
            await asyncio.sleep(0.02)
        assert app.state.resources.sessionmaker is not None
        async with UnitOfWork(app.state.resources.sessionmaker) as uow:
            deliveries = await uow.session.scalar(select(func.count()).select_from(Delivery))
    flaky = [c for c in calls.seen if c[0] == "record_item"]
    assert [attempt for _, _, attempt in flaky] == [1, 2, 3]
    item_row = next(row for row in rows if row.kind == "event")
    assert item_row.state == OutboxState.DEAD
    assert item_row.attempts == 3
    assert item_row.last_error == "RuntimeError: flaky handler"
    # The handler's writes of the failed runs were rolled back with them.
    assert deliveries == 0
    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retries) == 2
    assert any("dead-lettered after 3 attempt(s)" in r.getMessage() for r in caplog.records)


async def test_backoff_doubles_up_to_its_ceiling() -> None:
    config = JobsConfig(retry_base=2, retry_max=10)
    assert [config.backoff(n) for n in (1, 2, 3, 4, 5)] == [2, 4, 8, 10, 10]


async def test_a_row_claimed_but_never_dispatched_is_delivered_once_after_its_lease(
    jobs_settings: BastionSettings, calls: Calls
) -> None:
    # Redis configured: the app only writes rows; this test plays the worker.
    settings = jobs_settings.model_copy(update={"redis_url": NO_REDIS})
    jobs = build_jobs(calls, JobsConfig(lease=0.3))
    app = jobs_app(settings, jobs)
    async with app.router.lifespan_context(app):
        resources: Resources = app.state.resources
        relay = OutboxRelay(jobs, resources)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            assert (await client.post("/api/v1/items", params={"name": "kept"})).status_code == 201
        # The process dies after claiming: nothing is dispatched.
        assert len(await relay.claim()) == 2
        assert await relay.claim() == []  # leased: not due again yet
        await asyncio.sleep(0.35)
        delivered: list[bool] = []

        async def deliver_twice(row_id: object, attempts: int) -> None:
            # A second dispatch of the same row (a duplicate enqueue) changes nothing.
            delivered.append(await relay.deliver(row_id))  # type: ignore[arg-type]
            delivered.append(await relay.deliver(row_id))  # type: ignore[arg-type]

        assert await relay.run_once(deliver_twice) == 2
    assert sorted(delivered) == [False, False, True, True]
    assert sorted(name for name, _, _ in calls.seen) == ["greet:kept", "record_item"]


async def test_two_relays_on_postgresql_never_claim_one_row_twice(
    postgres_url: str, settings: BastionSettings, tmp_path: Path, calls: Calls
) -> None:
    async with temporary_database("postgres", settings, tmp_path, postgres_url) as db:
        engine = create_engine(db)
        async with engine.begin() as connection:
            await connection.run_sync(TestBase.metadata.create_all)
        await engine.dispose()
        db = db.model_copy(update={"redis_url": NO_REDIS})
        jobs = build_jobs(calls, JobsConfig(batch_size=25))
        app = jobs_app(db, jobs)
        async with app.router.lifespan_context(app):
            resources: Resources = app.state.resources
            assert resources.sessionmaker is not None
            async with UnitOfWork(resources.sessionmaker, jobs=jobs) as uow:
                for n in range(200):
                    uow.enqueue(jobs.handler("greet").function, Greeting(to=str(n)))  # type: ignore[union-attr]
            relays = [OutboxRelay(jobs, resources), OutboxRelay(jobs, resources)]
            claimed: list[list[object]] = [[], []]

            async def drain(index: int) -> None:
                for _ in range(20):
                    batch = await relays[index].claim()
                    claimed[index].extend(row_id for row_id, _ in batch)
                    await asyncio.sleep(0)

            await asyncio.gather(drain(0), drain(1))
    assert claimed[0]
    assert claimed[1]
    assert not set(claimed[0]) & set(claimed[1])
    assert len(claimed[0]) + len(claimed[1]) == 200


async def test_prune_deletes_old_delivered_rows_and_keeps_dead_and_pending_ones(
    jobs_settings: BastionSettings, calls: Calls
) -> None:
    settings = jobs_settings.model_copy(update={"redis_url": NO_REDIS})
    jobs = build_jobs(calls, JobsConfig(retention=60))
    app = jobs_app(settings, jobs)
    async with app.router.lifespan_context(app):
        resources: Resources = app.state.resources
        assert resources.sessionmaker is not None
        greet = jobs.handler("greet")
        assert greet is not None
        async with UnitOfWork(resources.sessionmaker, jobs=jobs) as uow:
            for n in range(4):
                uow.enqueue(greet.function, Greeting(to=str(n)))
        rows = await _rows(resources)
        old, recent, dead = (
            utcnow() - timedelta(seconds=120),
            utcnow(),
            utcnow() - timedelta(days=30),
        )
        async with UnitOfWork(resources.sessionmaker) as uow:
            for row, (state, finished) in zip(
                rows,
                [
                    (OutboxState.DELIVERED, old),
                    (OutboxState.DELIVERED, recent),
                    (OutboxState.DEAD, dead),
                    (OutboxState.PENDING, None),
                ],
                strict=True,
            ):
                await uow.session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row.id)
                    .values(state=state, finished_at=finished)
                )
        # Two workers pruning at once delete the old row once between them.
        first, second = await asyncio.gather(prune(resources), prune(resources))
        left = await _rows(resources)
    assert first["outbox"] + second["outbox"] == 1
    assert sorted(row.state for row in left) == sorted(
        [OutboxState.DELIVERED, OutboxState.DEAD, OutboxState.PENDING]
    )


async def test_enqueueing_needs_a_registered_job_and_its_own_arguments(
    jobs_settings: BastionSettings, calls: Calls
) -> None:
    jobs = build_jobs(calls)
    app = jobs_app(jobs_settings, jobs)

    async def stranger(greeting: Greeting, job: object) -> None: ...

    async with app.router.lifespan_context(app):
        resources: Resources = app.state.resources
        assert resources.sessionmaker is not None
        greet = jobs.handler("greet")
        assert greet is not None
        async with UnitOfWork(resources.sessionmaker, jobs=jobs) as uow:
            with pytest.raises(LookupError, match="not a registered job"):
                uow.enqueue(stranger, Greeting(to="x"))  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="takes Greeting"):
                uow.enqueue(greet.function, ItemCreated(item_id=uow_id(), name="x"))
        async with UnitOfWork(resources.sessionmaker) as uow:
            with pytest.raises(RuntimeError, match="jobs=Jobs"):
                uow.record(ItemCreated(item_id=uow_id(), name="x"))


def uow_id() -> uuid.UUID:
    return uuid.uuid4()


async def test_handler_names_are_unique_and_events_need_a_name() -> None:
    jobs = Jobs(OutboxMessage)

    async def handler(greeting: Greeting, job: object) -> None: ...

    jobs.job(Greeting, name="same")(handler)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already registered"):
        jobs.job(Greeting, name="same")(handler)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="event_name"):
        jobs.on(Greeting)  # type: ignore[type-var]


async def test_a_row_naming_no_registered_handler_is_dead_lettered_at_once(
    jobs_settings: BastionSettings, calls: Calls
) -> None:
    settings = jobs_settings.model_copy(update={"redis_url": NO_REDIS})
    jobs = build_jobs(calls)
    app = jobs_app(settings, jobs)
    async with app.router.lifespan_context(app):
        resources: Resources = app.state.resources
        assert resources.sessionmaker is not None
        async with UnitOfWork(resources.sessionmaker) as uow:
            row = OutboxMessage()
            row.kind, row.name, row.payload = "job", "removed.in.a.later.release", {}
            uow.session.add(row)
        relay = OutboxRelay(jobs, resources)
        assert await relay.run_once(lambda row_id, attempts: relay.deliver(row_id)) == 1
        (left,) = await _rows(resources)
    assert left.state == OutboxState.DEAD
    assert left.attempts == 1
    assert (
        left.last_error
        == "_NoHandlerError: no handler named 'removed.in.a.later.release' is registered"
    )


async def test_an_outbox_that_cannot_be_read_is_logged_with_the_databases_reason(
    settings: BastionSettings, tmp_path: Path, calls: Calls, caplog: pytest.LogCaptureFixture
) -> None:
    # The line said only "(OperationalError)": nothing told an operator the tables were
    # never migrated.
    async with temporary_database("sqlite", settings, tmp_path) as empty:  # no tables
        with caplog.at_level(logging.WARNING, logger="bastion.jobs"):
            async with serve(jobs_app(empty, build_jobs(calls))):
                for _ in range(250):  # bounded: the relay's first look
                    if caplog.records:
                        break
                    await asyncio.sleep(0.02)
    (line,) = {record.getMessage() for record in caplog.records}
    assert line.startswith("reading the outbox failed (OperationalError: no such table: ")
    assert line.endswith("); rows wait in the outbox")
