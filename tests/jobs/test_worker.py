"""`bastion worker` on arq and Redis: relayed rows run once, and wait out a Redis outage."""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bastion.cli import main
from bastion.core import BastionSettings
from bastion.db import UnitOfWork
from bastion.jobs import JobsConfig, OutboxRelay, OutboxState
from bastion.jobs.worker import JobsWorker
from bastion.web import Resources
from tests.edge import TcpProxy
from tests.jobs.app import Calls, ItemCreated, OutboxMessage, build_jobs, jobs_app

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
    target = urlsplit(redis_db)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    through = f"redis://127.0.0.1:{proxy.port}{target.path}"
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
