"""Mixins: UUIDv7 keys, optimistic versions (stale -> 409), soft delete hidden from reads."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped

from bastion.db import (
    DuplicateError,
    EntityMixin,
    StaleVersionError,
    UnitOfWork,
    UTCDateTime,
    uuid7,
    uuid7_time,
)
from bastion.errors import NotFoundError
from tests.db.models import Doc, DocRepository, Widget, WidgetRepository

Maker = async_sessionmaker[AsyncSession]


def test_uuid7_embeds_the_time_and_sets_version_and_variant() -> None:
    value = uuid7(timestamp_ms=1_700_000_000_123)
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert uuid7_time(value) == 1_700_000_000_123
    assert uuid7(timestamp_ms=1) < uuid7(timestamp_ms=2)
    assert len({uuid7() for _ in range(1000)}) == 1000
    assert abs(uuid7_time(uuid7()) - time.time_ns() // 1_000_000) < 60_000


@pytest.mark.parametrize("bad", [-1, 1 << 48])
def test_uuid7_refuses_a_timestamp_outside_48_bits(bad: int) -> None:
    with pytest.raises(ValueError, match="48 bits"):
        uuid7(timestamp_ms=bad)


def test_uuid7_time_refuses_other_versions() -> None:
    with pytest.raises(ValueError, match="version 7"):
        uuid7_time(uuid.uuid4())


def test_utc_datetime_refuses_naive_values() -> None:
    from sqlalchemy.dialects import sqlite

    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), sqlite.dialect())


def test_an_entity_has_a_uuid7_id_timestamps_and_an_orm_checked_version() -> None:
    class Own(DeclarativeBase):
        metadata = MetaData()

    class Thing(EntityMixin, Own):
        __tablename__ = "things"
        name: Mapped[str]

    columns = Thing.__table__.columns
    assert [column.name for column in columns] == [
        "id",
        "name",
        "created_at",
        "updated_at",
        "version",
    ]
    assert columns["id"].primary_key
    assert Thing.__mapper__.version_id_col is columns["version"]


async def test_an_update_with_a_stale_version_is_a_conflict(sessionmaker: Maker) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = DocRepository(uow.session)
        doc = await repo.add({"title": "a", "slug": "a"})
        assert doc.version == 1
        updated = await repo.update(doc.id, {"title": "b"}, expected_version=1)
        assert updated.version == 2
        with pytest.raises(StaleVersionError) as caught:
            await repo.update(doc.id, {"title": "c"}, expected_version=1)
        assert (caught.value.status_code, caught.value.code) == (409, "CONFLICT")
        with pytest.raises(NotFoundError):
            await repo.update(uuid7(), {"title": "c"}, expected_version=1)
        assert (await repo.update(doc.id, {"title": "d"})).version == 3


async def test_an_update_that_changes_nothing_writes_nothing(sessionmaker: Maker) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = DocRepository(uow.session)
        doc = await repo.add({"title": "a", "slug": "a"})
        same = await repo.update(doc.id, {}, expected_version=1)
        assert same == doc  # version and updated_at untouched
        with pytest.raises(StaleVersionError):
            await repo.update(doc.id, {}, expected_version=2)
        with pytest.raises(NotFoundError):
            await repo.update(uuid7(), {})


async def test_an_expected_version_on_a_model_without_versions_is_a_programming_error(
    sessionmaker: Maker,
) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = WidgetRepository(uow.session)
        widget = await repo.add({"name": "bolt"})
        with pytest.raises(ValueError, match="VersionMixin"):
            await repo.update(widget.id, {"price": 1}, expected_version=1)


async def test_the_orm_flush_of_a_stale_entity_is_a_conflict_too(sessionmaker: Maker) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        doc = await DocRepository(uow.session).add({"title": "a", "slug": "a"})

    async def edit_after_someone_else() -> None:
        async with UnitOfWork(sessionmaker) as uow:
            entity = (await uow.session.execute(select(Doc).where(Doc.id == doc.id))).scalar_one()
            # End the read transaction (SQLite would refuse to upgrade an outdated snapshot).
            await uow.commit()
            async with UnitOfWork(sessionmaker) as other:
                await DocRepository(other.session).update(doc.id, {"title": "other"})
            entity.title = "mine"
            await uow.flush()

    with pytest.raises(StaleVersionError):
        await edit_after_someone_else()


async def test_soft_deleted_rows_are_hidden_from_every_read(sessionmaker: Maker) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = DocRepository(uow.session)
        kept = await repo.add({"title": "kept", "slug": "kept"})
        gone = await repo.add({"title": "gone", "slug": "gone"})
        await repo.delete(gone.id)
        assert await repo.get_or_none(gone.id) is None
        assert [d.id for d in await repo.list()] == [kept.id]
        assert await repo.count() == 1
        assert await repo.get_many([gone.id, kept.id]) == [kept]
        with pytest.raises(NotFoundError):
            await repo.update(gone.id, {"title": "x"})
        with pytest.raises(NotFoundError):
            await repo.delete(gone.id)
        # The row is still there, holding its unique slug.
        with pytest.raises(DuplicateError):
            async with uow.nested():
                await repo.add({"title": "again", "slug": "gone"})
        await repo.delete(kept.id, hard=True)
        assert (await uow.session.execute(select(Doc.slug))).scalars().all() == ["gone"]


async def test_a_savepoint_rolls_back_only_its_block(sessionmaker: Maker) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = DocRepository(uow.session)
        await repo.add({"title": "outer", "slug": "outer"})

        async def fail_inside() -> None:
            async with uow.nested():
                await repo.add({"title": "inner", "slug": "inner"})
                raise RuntimeError

        with pytest.raises(RuntimeError):
            await fail_inside()
    async with UnitOfWork(sessionmaker) as uow:
        assert [d.slug for d in await DocRepository(uow.session).list()] == ["outer"]


async def test_a_unit_of_work_that_raises_rolls_back_everything(sessionmaker: Maker) -> None:
    async def fail() -> None:
        async with UnitOfWork(sessionmaker) as uow:
            await DocRepository(uow.session).add({"title": "a", "slug": "a"})
            raise LookupError

    with pytest.raises(LookupError):
        await fail()
    async with UnitOfWork(sessionmaker) as uow:
        assert await DocRepository(uow.session).count() == 0


async def test_work_can_go_on_after_an_explicit_commit(sessionmaker: Maker) -> None:
    async def commit_then_fail() -> None:
        async with UnitOfWork(sessionmaker) as uow:
            await DocRepository(uow.session).add({"title": "a", "slug": "a"})
            await uow.commit()
            await DocRepository(uow.session).add({"title": "b", "slug": "b"})
            raise LookupError

    with pytest.raises(LookupError):
        await commit_then_fail()
    async with UnitOfWork(sessionmaker) as uow:
        assert [d.slug for d in await DocRepository(uow.session).list()] == ["a"]


async def test_a_unit_of_work_is_used_only_while_open(sessionmaker: Maker) -> None:
    uow = UnitOfWork(sessionmaker)
    with pytest.raises(RuntimeError, match="not open"):
        _ = uow.session
    async with uow:
        with pytest.raises(RuntimeError, match="already open"):
            await uow.__aenter__()


async def test_orm_inserts_get_equal_aware_utc_timestamps(sessionmaker: Maker) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        uow.session.add(Widget(name="orm"))
        await uow.flush()
        row = (await uow.session.execute(select(Widget.created_at, Widget.updated_at))).one()
    assert row.created_at.tzinfo is not None
    assert row.created_at.utcoffset() == UTC.utcoffset(None)
    assert row.updated_at == row.created_at
