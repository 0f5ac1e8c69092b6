"""`UnitOfWork.after_commit`: followers of a write run once it stands, never when it rolls back."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bastion.db import ForeignKeyViolationError, UnitOfWork
from tests.db.models import DocRepository, TagRepository

Maker = async_sessionmaker[AsyncSession]


async def test_callbacks_run_in_order_once_the_commit_succeeds(sessionmaker: Maker) -> None:
    ran: list[str] = []
    async with UnitOfWork(sessionmaker) as uow:
        await DocRepository(uow.session).add({"title": "a", "slug": "a"})
        uow.after_commit(lambda: ran.append("first"))
        uow.after_commit(lambda: ran.append("second"))
        assert ran == []
    assert ran == ["first", "second"]


async def test_a_block_that_raises_runs_no_callback(sessionmaker: Maker) -> None:
    ran: list[str] = []

    async def fail() -> None:
        async with UnitOfWork(sessionmaker) as uow:
            await DocRepository(uow.session).add({"title": "a", "slug": "a"})
            uow.after_commit(lambda: ran.append("claimed"))
            raise LookupError

    with pytest.raises(LookupError):
        await fail()
    assert ran == []


async def test_a_commit_that_fails_runs_no_callback(sessionmaker: Maker) -> None:
    ran: list[str] = []

    async def fail_at_commit() -> None:
        async with UnitOfWork(sessionmaker) as uow:
            # The foreign key is checked at COMMIT: the commit itself fails.
            await TagRepository(uow.session).add({"widget_id": uuid.uuid4(), "label": "x"})
            uow.after_commit(lambda: ran.append("claimed"))

    with pytest.raises(ForeignKeyViolationError):
        await fail_at_commit()
    assert ran == []


async def test_an_explicit_commit_runs_the_callbacks_registered_before_it(
    sessionmaker: Maker,
) -> None:
    ran: list[str] = []

    async def commit_then_fail() -> None:
        async with UnitOfWork(sessionmaker) as uow:
            await DocRepository(uow.session).add({"title": "a", "slug": "a"})
            uow.after_commit(lambda: ran.append("kept"))
            await uow.commit()
            uow.after_commit(lambda: ran.append("rolled back"))
            await uow.rollback()
            uow.after_commit(lambda: ran.append("after the rollback"))
            raise LookupError

    with pytest.raises(LookupError):
        await commit_then_fail()
    assert ran == ["kept"]


async def test_a_failing_callback_is_logged_and_the_write_stands(
    sessionmaker: Maker, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("a follower's bug")

    async with UnitOfWork(sessionmaker) as uow:
        await DocRepository(uow.session).add({"title": "a", "slug": "a"})
        uow.after_commit(broken)
        uow.after_commit(lambda: ran.append("next"))
    assert ran == ["next"]
    failures = [r for r in caplog.records if "after-commit callback failed" in r.getMessage()]
    assert [r.name for r in failures] == ["bastion.db"]
    async with UnitOfWork(sessionmaker) as uow:
        assert await DocRepository(uow.session).count() == 1


async def test_a_unit_of_work_nobody_uses_takes_no_connection(
    engine: AsyncEngine, sessionmaker: Maker
) -> None:
    checkouts: list[object] = []
    event.listen(engine.sync_engine, "checkout", lambda *args: checkouts.append(args))
    ran: list[str] = []
    async with UnitOfWork(sessionmaker) as uow:
        uow.after_commit(lambda: ran.append("nothing to commit"))
    assert checkouts == []
    assert ran == ["nothing to commit"]
    async with UnitOfWork(sessionmaker) as uow:
        await DocRepository(uow.session).count()
    assert len(checkouts) == 1
