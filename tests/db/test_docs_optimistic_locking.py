"""The optimistic-locking snippet of docs/persistence.md: a stale version writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bastion.db import StaleVersionError, UnitOfWork
from tests.db.models import DocRepository
from tests.snippets import load_snippet

snippet = load_snippet("optimistic_locking")


async def test_an_update_against_the_version_read_applies_and_moves_it_on(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = DocRepository(uow.session)
        doc = await repo.add({"title": "draft", "slug": "a"})
        assert doc.version == 1
        changed = await snippet.update_doc(
            repo, doc.id, snippet.DocUpdate.model_validate({"title": "final", "version": 1})
        )
    assert (changed.title, changed.version) == ("final", 2)


async def test_an_update_against_a_stale_version_is_a_409_and_writes_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = DocRepository(uow.session)
        doc = await repo.add({"title": "draft", "slug": "a"})
        await snippet.update_doc(repo, doc.id, snippet.DocUpdate(title="theirs", version=1))
    with pytest.raises(StaleVersionError) as stale:
        async with UnitOfWork(sessionmaker) as uow:
            await snippet.update_doc(
                DocRepository(uow.session), doc.id, snippet.DocUpdate(title="mine", version=1)
            )
    assert (stale.value.status_code, stale.value.code) == (409, "CONFLICT")
    async with UnitOfWork(sessionmaker) as uow:
        kept = await DocRepository(uow.session).get(doc.id)
    assert (kept.title, kept.version) == ("theirs", 2)
