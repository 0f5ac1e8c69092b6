"""`bastion worker` on arq and Redis: relayed rows run once, and wait out a Redis outage."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import make_url, select

from bastion import create_app
from bastion.cli import main
from bastion.core import BastionSettings
from bastion.db import UnitOfWork
from bastion.jobs import JobContext, Jobs, JobsConfig, OutboxRelay, OutboxState
from bastion.jobs.worker import JobsWorker
from bastion.web import Resources
from tests.conftest import TEST_SECRET
from tests.db.conftest import temporary_database
from tests.edge import TcpProxy, proxied_redis
from tests.jobs.app import Calls, ItemCreated, OutboxMessage, build_jobs, jobs_app
from tests.jobs.worker_host import create_test_tables

REPO = Path(__file__).parents[2]

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis_db(redis_url: str) -> AsyncIterator[str]:
    """A Redis database of the test server, emptied after the test (arq keeps its queue there)."""
    from redis.asyncio import Redis

    base = redis_url.rsplit("/", 1)[0]
    url = f"{base}/{9 + secrets.randbelow(6)}"
    yield url
    client = Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


async def _states(resources: Resources) -> list[str]:
    assert resources.sessionmaker is not None
    async with UnitOfWork(resources.sessionmaker) as uow:
        return [row.state for row in (await uow.session.scalars(select(OutboxMessage))).all()]


async def test_a_worker_runs_each_committed_row_once(
    jobs_settings: BastionSettings, redis_db: str, calls: Calls
) -> None:
    settings = jobs_settings.model_copy(update={"redis_url": SecretStr(redis_db)})
    jobs = build_jobs(calls)
    app = jobs_app(settings, jobs)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for name in ("a", "b"):
                assert (
                    await client.post("/api/v1/items", params={"name": name})
                ).status_code == 201
        # With Redis the app itself dispatches nothing: rows wait for a worker.
        await asyncio.sleep(0.2)
        assert calls.seen == []
        resources: Resources = app.state.resources
        async with JobsWorker(resources, burst=True, handle_signals=False) as worker:
            await worker.run()
        # Sending the same rows again (a relay that died before it could mark its lease) is
        # harmless: each job finds its row delivered and leaves it.
        assert resources.sessionmaker is not None
        async with UnitOfWork(resources.sessionmaker) as uow:
            row_ids = list((await uow.session.scalars(select(OutboxMessage.id))).all())
        async with JobsWorker(resources, burst=True, handle_signals=False) as worker:
            for row_id in row_ids:
                await worker.dispatch(row_id, 99)
            await worker.run()
        states = await _states(resources)
    assert sorted(name for name, _, _ in calls.seen) == [
        "greet:a",
        "greet:b",
        "record_item",
        "record_item",
    ]
    assert states == [OutboxState.DELIVERED] * 4


async def test_rows_wait_in_the_outbox_while_redis_is_down_and_flow_when_it_returns(
    jobs_settings: BastionSettings,
    redis_db: str,
    calls: Calls,
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy, through = await proxied_redis(redis_db)
    settings = jobs_settings.model_copy(update={"redis_url": SecretStr(through)})
    jobs = build_jobs(calls, JobsConfig(lease=0.5))
    app = jobs_app(settings, jobs)
    caplog.set_level(logging.WARNING, logger="bastion.jobs")
    try:
        async with app.router.lifespan_context(app):
            resources: Resources = app.state.resources
            async with JobsWorker(resources, burst=True, handle_signals=False) as worker:
                assert resources.sessionmaker is not None
                async with UnitOfWork(resources.sessionmaker, jobs=jobs) as uow:
                    uow.record(ItemCreated(item_id=uuid.uuid4(), name="waiting"))
                await proxy.stop()
                relay = OutboxRelay(jobs, resources)
                assert await relay.run_once(worker.dispatch) == 1
                assert any("rows wait in the outbox" in r.getMessage() for r in caplog.records)
                assert await _states(resources) == [OutboxState.PENDING]
                await proxy.start()
                await asyncio.sleep(0.55)  # the lease of the row that could not be sent ends
                await worker.run()
            states = await _states(resources)
    finally:
        await proxy.stop()
    assert [name for name, _, _ in calls.seen] == ["record_item"]
    assert states == [OutboxState.DELIVERED]


async def _record(resources: Resources, jobs: Jobs, name: str) -> None:
    assert resources.sessionmaker is not None
    async with UnitOfWork(resources.sessionmaker, jobs=jobs) as uow:
        uow.record(ItemCreated(item_id=uuid.uuid4(), name=name))


async def _until_delivered(resources: Resources, count: int, seconds: float = 20.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        states = await _states(resources)
        if states.count(OutboxState.DELIVERED) == count:
            return states
        await asyncio.sleep(0.05)
    return await _states(resources)


async def _stopped(task: asyncio.Task[None]) -> None:
    """Cancel a running worker and wait for it, bounded: a worker deaf to it fails the test."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=30)
    if not done:
        stacks = io.StringIO()
        for pending in asyncio.all_tasks():
            pending.print_stack(file=stacks)
        pytest.fail(
            f"the worker did not stop within 30 s of its cancellation:\n{stacks.getvalue()}"
        )
    with contextlib.suppress(asyncio.CancelledError):
        task.result()


@dataclass
class _Running:
    """A worker running on a test app, its Redis behind `proxy`."""

    proxy: TcpProxy
    jobs: Jobs
    resources: Resources
    task: asyncio.Task[None]

    async def record(self, name: str) -> None:
        await _record(self.resources, self.jobs, name)


@contextlib.asynccontextmanager
async def _running_worker(
    settings: BastionSettings, redis_db: str, calls: Calls, **changes: object
) -> AsyncIterator[_Running]:
    """A worker running (as `bastion worker` runs it) until the block ends; Redis via a proxy."""
    proxy, through = await proxied_redis(redis_db)
    jobs = build_jobs(calls, JobsConfig(lease=0.5, poll_interval=0.05))
    app = jobs_app(settings.model_copy(update={"redis_url": SecretStr(through), **changes}), jobs)
    try:
        async with app.router.lifespan_context(app):
            resources: Resources = app.state.resources
            async with JobsWorker(resources, handle_signals=False) as worker:
                task = asyncio.create_task(worker.run())
                try:
                    yield _Running(proxy, jobs, resources, task)
                finally:
                    await _stopped(task)
    finally:
        await proxy.stop()


async def test_a_running_worker_outlives_a_redis_outage_and_then_delivers_what_waited(
    sqlite_jobs_settings: BastionSettings, redis_db: str, calls: Calls
) -> None:
    async with _running_worker(sqlite_jobs_settings, redis_db, calls) as running:
        await running.record("before")
        assert await _until_delivered(running.resources, 1) == [OutboxState.DELIVERED]
        await running.proxy.stop()
        await asyncio.sleep(1.5)  # arq's loop meets the outage, more than once
        assert not running.task.done()
        await running.record("during")
        await running.proxy.start()
        states = await _until_delivered(running.resources, 2)
        assert not running.task.done()
    assert states == [OutboxState.DELIVERED] * 2
    assert [name for name, _, _ in calls.seen] == ["record_item", "record_item"]


async def test_a_redis_outage_is_logged_once_not_at_every_attempt_to_reconnect(
    sqlite_jobs_settings: BastionSettings,
    redis_db: str,
    calls: Calls,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with _running_worker(sqlite_jobs_settings, redis_db, calls) as running:
        await running.record("before")
        assert await _until_delivered(running.resources, 1) == [OutboxState.DELIVERED]
        await running.proxy.stop()
        await asyncio.sleep(3.5)  # several attempts to reach Redis, a second apart
        await running.proxy.start()
        await running.record("after")
        assert await _until_delivered(running.resources, 2) == [OutboxState.DELIVERED] * 2
    starts = [r for r in caplog.records if r.getMessage().startswith("Starting worker")]
    lost = [r for r in caplog.records if "the job worker lost Redis" in r.getMessage()]
    # arq's loop starts once, then once more when Redis answers: not at every attempt.
    assert len(starts) == 2, [r.getMessage() for r in caplog.records]
    assert len(lost) == 1


async def test_a_redis_that_answers_but_fails_arq_is_retried_less_and_less_often(
    sqlite_jobs_settings: BastionSettings,
    redis_db: str,
    calls: Calls,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Redis answers a PING, yet every one of arq's calls fails (here a key of the wrong
    # type where arq keeps its queue; a read-only replica or a full memory alike).
    from redis.asyncio import Redis

    client = Redis.from_url(redis_db)
    try:
        await client.set("arq:queue", "not a sorted set")
    finally:
        await client.aclose()
    caplog.set_level(logging.INFO)
    async with _running_worker(sqlite_jobs_settings, redis_db, calls) as running:
        await asyncio.sleep(4.5)
        assert not running.task.done()
    starts = [r for r in caplog.records if r.getMessage().startswith("Starting worker")]
    lost = [r.getMessage() for r in caplog.records if "the job worker lost Redis" in r.getMessage()]
    # Once a second would be 5 starts: the pause doubles after each quick failure.
    assert 2 <= len(starts) <= 3, [r.getMessage() for r in caplog.records]
    assert len(lost) == 1
    assert "WRONGTYPE" in lost[0]  # what failed, not only its type


async def test_a_worker_gives_up_on_a_redis_that_never_answers_and_goes_on_when_it_does(
    sqlite_jobs_settings: BastionSettings, redis_db: str, calls: Calls
) -> None:
    async with _running_worker(
        sqlite_jobs_settings, redis_db, calls, redis_socket_timeout=0.5
    ) as running:
        await asyncio.sleep(0.3)
        running.proxy.stall()  # commands sent now are never answered
        await asyncio.sleep(1.5)
        running.proxy.stalled = False  # Redis answers again, on the same connections
        await running.record("after")
        states = await _until_delivered(running.resources, 1)
        assert not running.task.done()
    assert states == [OutboxState.DELIVERED]


async def test_a_connection_lost_inside_arqs_watched_pipeline_does_not_stop_the_worker(
    sqlite_jobs_settings: BastionSettings, redis_db: str, calls: Calls
) -> None:
    # redis-py raises a lost connection inside WATCH ... MULTI as a WatchError, which is
    # no ConnectionError: arq's loop meets one when it starts a job as Redis goes away.
    proxy, through = await proxied_redis(redis_db)
    jobs = build_jobs(calls, JobsConfig(lease=0.5, poll_interval=0.05))
    app = jobs_app(sqlite_jobs_settings.model_copy(update={"redis_url": SecretStr(through)}), jobs)
    try:
        async with app.router.lifespan_context(app):
            resources: Resources = app.state.resources
            await _record(resources, jobs, "queued")
            async with JobsWorker(resources, handle_signals=False) as worker:
                assert resources.sessionmaker is not None
                async with UnitOfWork(resources.sessionmaker) as uow:
                    (row_id,) = (await uow.session.scalars(select(OutboxMessage.id))).all()
                await worker.dispatch(row_id, 0)  # queued before the worker starts
                proxy.cut_on = b"EXISTS"  # arq asks whether the job is in progress, watching
                running = asyncio.create_task(worker.run())
                try:
                    await asyncio.sleep(1.0)
                    proxy.cut_on = None
                    states = await _until_delivered(resources, 1)
                    assert not running.done()
                finally:
                    await _stopped(running)
    finally:
        await proxy.stop()
    assert states == [OutboxState.DELIVERED]


@pytest.mark.postgres
async def test_a_delivery_the_database_outage_cut_short_runs_again_once_its_lease_ends(
    settings: BastionSettings, tmp_path: Path, postgres_url: str, redis_db: str
) -> None:
    real = make_url(postgres_url)
    database = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
    await database.start()
    through = real.set(host="127.0.0.1", port=database.port)
    jobs = Jobs(OutboxMessage, JobsConfig(lease=0.5, poll_interval=0.05))
    runs: list[int] = []

    @jobs.on(ItemCreated, name="record_item")
    async def record_item(event: ItemCreated, job: JobContext) -> None:
        runs.append(job.attempt)
        if len(runs) == 1:  # the database goes away under the first run: nothing is recorded
            await database.stop()

    try:
        async with temporary_database("postgres", settings, tmp_path, postgres_url) as db:
            proxied = db.model_copy(
                update={
                    "database_url": SecretStr(through.render_as_string(hide_password=False)),
                    "redis_url": SecretStr(redis_db),
                }
            )
            app = create_app(proxied, jobs=jobs, lifespan=create_test_tables)
            async with app.router.lifespan_context(app):
                resources: Resources = app.state.resources
                await _record(resources, jobs, "cut")
                async with JobsWorker(resources, burst=True, handle_signals=False) as worker:
                    await worker.run()
                assert runs == [1]
                await database.start()
                assert await _states(resources) == [OutboxState.PENDING]
                await asyncio.sleep(0.6)  # the row's lease ends
                async with JobsWorker(resources, burst=True, handle_signals=False) as worker:
                    await worker.run()
                states = await _states(resources)
    finally:
        await database.stop()
    assert runs == [1, 1]  # the first run's attempt was never recorded
    assert states == [OutboxState.DELIVERED]


async def test_sigterm_stops_the_worker_command(tmp_path: Path, redis_db: str) -> None:
    log = tmp_path / "worker.log"
    environment = {
        **os.environ,
        "BASTION_ENVIRONMENT": "test",
        "BASTION_SECRET_KEY": TEST_SECRET,
        "BASTION_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'worker.db'}",
        "BASTION_REDIS_URL": redis_db,
        "BASTION_LOG_JSON": "false",
    }
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bastion.cli", "worker"),
            "tests.jobs.worker_host:create_worker_app",
            cwd=REPO,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # Generous bounds: the process imports the app and sizes password hashing on a
        # shared, loaded machine; a worker deaf to SIGTERM fails the second one.
        deadline = time.monotonic() + 120
        while b"Starting worker" not in log.read_bytes():
            assert process.returncode is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        try:
            status = await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            pytest.fail(f"the worker outlived SIGTERM by 60 s:\n{log.read_text()}")
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    assert status == 0, log.read_text()


def test_the_worker_command_refuses_an_app_it_cannot_load(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["worker", "no_such_module_here:app"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bastion worker: cannot load no_such_module_here:app")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("flags", [["--factory"], []], ids=["--factory", "found-callable"])
def test_a_factory_that_fails_to_import_is_one_line_too(
    capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    # Without `--factory`, a callable that is not an app is called as one, as `users` does.
    assert main(["worker", "tests.cli.host:create_app_missing_a_module", *flags]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bastion worker: cannot load tests.cli.host:create_app_missing_a_module")
    assert "a_dependency_not_installed" in err
    assert len(err.strip().splitlines()) == 1
