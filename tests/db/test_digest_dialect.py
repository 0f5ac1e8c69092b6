"""Cursor filter digests compile on the engine's own dialect: stable per list, distinct per filter."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bastion.db import Eq, InvalidCursorError, KeysetParams, UnitOfWork
from tests.db.models import WidgetRepository
from tests.db.test_pagination import SIGNER

Maker = async_sessionmaker[AsyncSession]


async def test_a_filtered_cursor_continues_its_list_and_no_other(sessionmaker: Maker) -> None:
    # On SQLite and PostgreSQL alike (the fixture runs both), a digest made on the
    # engine's dialect is the same at each page of one list and differs when a
    # filter's bound value does.
    async with UnitOfWork(sessionmaker) as uow:
        repo = WidgetRepository(uow.session)
        await repo.add_many([{"name": f"w{i}", "price": i % 2} for i in range(6)])
        first = await repo.page(KeysetParams(signer=SIGNER, limit=2), Eq("price", 1), sort="name")
        assert first.next_cursor is not None
        params = KeysetParams.parse(SIGNER, limit=2, cursor=first.next_cursor)
        second = await repo.page(params, Eq("price", 1), sort="name")
        assert [w.name for w in [*first.items, *second.items]] == ["w1", "w3", "w5"]
        with pytest.raises(InvalidCursorError):
            await repo.page(params, Eq("price", 0), sort="name")
