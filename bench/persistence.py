"""Repository overhead vs hand-written SQLAlchemy, and keyset vs offset depth, on SQLite and PostgreSQL.

Run: `python -m bench.persistence` (PostgreSQL too when BASTION_TEST_DATABASE_URL is set).
Figures are the best of repeated, interleaved timed batches (medians for the depth figures),
printed as per-operation times and ratios.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr
from sqlalchemy import Index, MetaData, String, Text, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import NullPool

from bastion.core import BastionSettings
from bastion.db import (
    NAMING_CONVENTION,
    Base,
    BaseRepository,
    CursorPayload,
    CursorSigner,
    KeysetParams,
    OffsetParams,
    TimestampMixin,
    UUIDPrimaryKeyMixin,
    create_engine,
    create_sessionmaker,
    utcnow,
    uuid7,
)

SIGNER = CursorSigner("bench-secret-key-bench-secret-key-0123456789")
BIG_TABLE = 200_000
DEPTH = 100_000
MANY = 10_000


class BenchBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = Base.type_annotation_map


class Item(UUIDPrimaryKeyMixin, TimestampMixin, BenchBase):
    __tablename__ = "bench_items"
    __table_args__ = (Index("ix_bench_items_created_at_id", "created_at", "id"),)

    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")


class ItemOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    title: str
    body: str
    created_at: datetime
    updated_at: datetime


class ItemIn(BaseModel):
    title: str
    body: str = ""


class ItemRepository(BaseRepository[Item, ItemOut]):
    model = Item
    out = ItemOut


COLUMNS = (Item.id, Item.title, Item.body, Item.created_at, Item.updated_at)
NAMES = ("id", "title", "body", "created_at", "updated_at")


async def _batch(op: Callable[[], Awaitable[object]], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        await op()
    return (time.perf_counter() - start) / number


async def _timed(op: Callable[[], Awaitable[object]], *, number: int, repeat: int = 5) -> float:
    """Median seconds per call over `repeat` batches of `number` calls (after a warm-up)."""
    await _batch(op, min(number, 20))
    return statistics.median([await _batch(op, number) for _ in range(repeat)])


async def _compare(
    ours: Callable[[], Awaitable[object]],
    theirs: Callable[[], Awaitable[object]],
    *,
    number: int,
    repeat: int = 9,
) -> tuple[float, float]:
    """Best per-call seconds of both (the least disturbed batch), batches interleaved.

    The minimum, as `timeit` recommends, because the database server is shared and
    noise only ever adds time.
    """
    await _batch(theirs, min(number, 20))
    await _batch(ours, min(number, 20))
    mine, other = [], []
    for _ in range(repeat):
        other.append(await _batch(theirs, number))
        mine.append(await _batch(ours, number))
    return min(mine), min(other)


def _line(name: str, ours: float, theirs: float) -> None:
    print(
        f"  {name:<22} repository {ours * 1e6:10.1f} us   hand-written {theirs * 1e6:10.1f} us"
        f"   ratio {ours / theirs:5.2f}x"
    )


async def _overhead(maker: async_sessionmaker[AsyncSession]) -> None:
    async with maker() as session:
        repo = ItemRepository(session)
        await repo.add_many([ItemIn(title=f"seed {i}") for i in range(200)])
        await session.commit()
        some_id = (await session.execute(select(Item.id).limit(1))).scalar_one()

        async def repo_get() -> object:
            return await repo.get(some_id)

        async def hand_get() -> object:
            row = (await session.execute(select(*COLUMNS).where(Item.id == some_id))).one()
            return ItemOut.model_validate(dict(zip(NAMES, row, strict=True)))

        async def repo_list() -> object:
            return await repo.list(limit=20)

        async def hand_list() -> object:
            stmt = select(*COLUMNS).order_by(Item.created_at.desc(), Item.id.desc()).limit(20)
            rows = await session.execute(stmt)
            return [ItemOut.model_validate(dict(zip(NAMES, r, strict=True))) for r in rows]

        async def repo_add() -> object:
            return await repo.add(ItemIn(title="x", body="y"))

        async def hand_add() -> object:
            now = utcnow()
            row = {**ItemIn(title="x", body="y").model_dump(), "id": uuid7()}
            row |= {"created_at": now, "updated_at": now}
            await session.execute(insert(Item).values(row))
            return ItemOut.model_validate(row)

        async def orm_get() -> object:
            entity = (await session.execute(select(Item).where(Item.id == some_id))).scalar_one()
            return ItemOut.model_validate(entity, from_attributes=True)

        async def orm_list() -> object:
            stmt = select(Item).order_by(Item.created_at.desc(), Item.id.desc()).limit(20)
            entities = (await session.execute(stmt)).scalars()
            return [ItemOut.model_validate(e, from_attributes=True) for e in entities]

        async def orm_add() -> object:
            entity = Item(**ItemIn(title="x", body="y").model_dump())
            session.add(entity)
            await session.flush()
            return ItemOut.model_validate(entity, from_attributes=True)

        print("  vs the same statements written by hand (columns -> DTO):")
        for name, ours, theirs, number in (
            ("get", repo_get, hand_get, 300),
            ("list(20)", repo_list, hand_list, 200),
            ("add", repo_add, hand_add, 300),
        ):
            _line(name, *await _compare(ours, theirs, number=number))
        print("  vs ORM entities written by hand (entity -> DTO):")
        for name, ours, theirs, number in (
            ("get", repo_get, orm_get, 300),
            ("list(20)", repo_list, orm_list, 200),
            ("add", repo_add, orm_add, 300),
        ):
            _line(name, *await _compare(ours, theirs, number=number))
        await session.rollback()

    batch = [ItemIn(title=f"many {i}", body="b") for i in range(MANY)]

    async def repo_many() -> object:
        async with maker() as session:
            await ItemRepository(session).add_many(batch)
            await session.rollback()
        return None

    async def hand_many() -> object:
        async with maker() as session:
            now = utcnow()
            rows = [{**item.model_dump(), "created_at": now, "updated_at": now} for item in batch]
            await session.execute(insert(Item), rows)
            await session.rollback()
        return None

    print("  bulk insert vs `session.execute(insert(Item), rows)` by hand:")
    _line(f"add_many({MANY:_})", *await _compare(repo_many, hand_many, number=1, repeat=5))


async def _depth(maker: async_sessionmaker[AsyncSession]) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with maker() as session:
        await session.execute(text("DELETE FROM bench_items"))
        chunk = 20_000
        for base in range(0, BIG_TABLE, chunk):
            rows = [
                {
                    "id": uuid7(),
                    "title": f"row {i}",
                    "body": "",
                    # Pairs of rows share a timestamp, so the id tiebreak is exercised.
                    "created_at": start + timedelta(seconds=i // 2),
                    "updated_at": start,
                }
                for i in range(base, base + chunk)
            ]
            await session.execute(insert(Item), rows)
        await session.commit()
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("ANALYZE bench_items"))
            await session.commit()
        repo = ItemRepository(session)
        at_depth = (
            await session.execute(
                select(Item.created_at, Item.id)
                .order_by(Item.created_at.desc(), Item.id.desc())
                .offset(DEPTH - 1)
                .limit(1)
            )
        ).one()
        cursor = SIGNER.encode(
            CursorPayload(
                scope="bench_items",
                sort="-created_at",
                key=at_depth.created_at.isoformat(),
                id=str(at_depth.id),
            )
        )
        first = KeysetParams(signer=SIGNER, limit=20)
        deep = KeysetParams.parse(SIGNER, limit=20, cursor=cursor)
        page = await repo.page(deep)
        assert len(page.items) == 20

        async def page_1() -> object:
            return await repo.page(first)

        async def keyset_deep() -> object:
            return await repo.page(deep)

        async def offset_deep() -> object:
            return await repo.offset_page(OffsetParams(limit=20, offset=DEPTH))

        t1 = await _timed(page_1, number=100)
        tk = await _timed(keyset_deep, number=100)
        to = await _timed(offset_deep, number=5, repeat=3)
        print(
            f"  keyset page 1 {t1 * 1e3:8.3f} ms | keyset at {DEPTH:_} {tk * 1e3:8.3f} ms "
            f"({tk / t1:4.2f}x page 1) | offset at {DEPTH:_} {to * 1e3:8.3f} ms "
            f"({to / t1:6.1f}x page 1)   [table of {BIG_TABLE:_} rows]"
        )


async def _run(label: str, settings: BastionSettings) -> None:
    print(f"[{label}]")
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(BenchBase.metadata.create_all)
        maker = create_sessionmaker(engine)
        await _overhead(maker)
        await _depth(maker)
    finally:
        await engine.dispose()


async def _main() -> None:
    base = BastionSettings(environment="test", configure_logging=False)
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        await _run("SQLite", base.model_copy(update={"database_url": SecretStr(url)}))
    pg_url = os.environ.get("BASTION_BENCH_DATABASE_URL") or os.environ.get(
        "BASTION_TEST_DATABASE_URL"
    )
    if not pg_url:
        print("[PostgreSQL] skipped: set BASTION_TEST_DATABASE_URL")
        return
    schema = f"bastion_bench_{secrets.token_hex(6)}"
    admin = create_async_engine(pg_url, poolclass=NullPool)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        settings = base.model_copy(
            update={"database_url": SecretStr(pg_url), "database_schema": schema}
        )
        await _run("PostgreSQL", settings)
    finally:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
