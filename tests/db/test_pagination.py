"""Keyset and offset pagination: every row exactly once, ties broken by id, cursors pinned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bastion.db import (
    CursorPayload,
    CursorSigner,
    InvalidCursorError,
    KeysetParams,
    OffsetParams,
    UnitOfWork,
)
from tests.db.models import WidgetOut, WidgetRepository

Maker = async_sessionmaker[AsyncSession]
SIGNER = CursorSigner("a-test-secret-key-that-is-long-enough-123")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def _walk(
    sessionmaker: Maker, *, sort: str, limit: int, between: list[dict[str, object]] | None = None
) -> list[WidgetOut]:
    seen: list[WidgetOut] = []
    params = KeysetParams(signer=SIGNER, limit=limit)
    pending = list(between or [])
    while True:
        async with UnitOfWork(sessionmaker) as uow:
            page = await WidgetRepository(uow.session).page(params, sort=sort)
        seen += page.items
        if pending:
            async with UnitOfWork(sessionmaker) as uow:
                await WidgetRepository(uow.session).add(pending.pop())
        if page.next_cursor is None:
            return seen
        params = KeysetParams.parse(SIGNER, limit=limit, cursor=page.next_cursor)


@pytest.mark.parametrize("sort", ["-created_at", "created_at", "price", "-price"])
async def test_keyset_returns_every_row_once_with_ties_and_inserts_between_pages(
    sessionmaker: Maker, sort: str
) -> None:
    # Many rows share a timestamp and a price, so the id tiebreak decides their order.
    rows = [
        {"name": f"w{i:02}", "price": i % 3, "created_at": T0 + timedelta(seconds=i // 4)}
        for i in range(23)
    ]
    async with UnitOfWork(sessionmaker) as uow:
        await WidgetRepository(uow.session).add_many(rows)
    # Rows inserted while paging may or may not be seen, depending on where they sort
    # relative to the walk; the rows that existed before must each be seen exactly once.
    later = [
        {"name": f"new{i}", "price": 1, "created_at": T0 + timedelta(days=1)} for i in range(4)
    ]
    seen = await _walk(sessionmaker, sort=sort, limit=4, between=later)
    names = [w.name for w in seen]
    assert len(names) == len(set(names))
    assert {r["name"] for r in rows} <= set(names)
    field, descending = sort.removeprefix("-"), sort.startswith("-")
    keys = [(getattr(w, field), w.id) for w in seen if not w.name.startswith("new")]
    assert keys == sorted(keys, reverse=descending)


async def test_a_cursor_for_another_sort_is_refused(sessionmaker: Maker) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = WidgetRepository(uow.session)
        await repo.add_many([{"name": f"w{i}"} for i in range(3)])
        page = await repo.page(KeysetParams(signer=SIGNER, limit=1), sort="name")
        assert page.next_cursor is not None
        params = KeysetParams.parse(SIGNER, limit=1, cursor=page.next_cursor)
        with pytest.raises(InvalidCursorError):
            await repo.page(params, sort="-created_at")


async def test_a_signed_cursor_with_an_ill_typed_key_is_refused(sessionmaker: Maker) -> None:
    forged = SIGNER.encode(CursorPayload(scope="widgets", sort="price", key="x", id="nope"))
    async with UnitOfWork(sessionmaker) as uow:
        with pytest.raises(InvalidCursorError):
            await WidgetRepository(uow.session).page(
                KeysetParams.parse(SIGNER, cursor=forged), sort="price"
            )


def test_a_cursor_signed_with_another_key_does_not_verify() -> None:
    cursor = SIGNER.encode(CursorPayload(scope="widgets", sort="name", key="a", id="b"))
    assert SIGNER.decode(cursor) == CursorPayload(scope="widgets", sort="name", key="a", id="b")
    with pytest.raises(InvalidCursorError):
        CursorSigner(b"another-key-another-key-another-key").decode(cursor)


@pytest.mark.parametrize(
    "cursor",
    ["", "a.b.c", "x" * 2000, "e30.AAAA", "bm90IGpzb24.AAAA"],
    ids=["empty", "three-parts", "too-long", "bad-mac", "not-json"],
)
def test_malformed_cursors_are_invalid(cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        SIGNER.decode(cursor)


def test_a_well_signed_cursor_of_the_wrong_shape_is_invalid() -> None:
    import base64
    import hashlib
    import hmac

    key = hmac.new(b"k" * 32, b"bastion.db.cursor.v1", hashlib.sha256).digest()
    for body in (b"[1, 2, 3, 4]", b"[1, 2]", b"{}"):
        mac = hmac.new(key, body, hashlib.sha256).digest()[:16]
        enc = base64.urlsafe_b64encode
        token = f"{enc(body).rstrip(b'=').decode()}.{enc(mac).rstrip(b'=').decode()}"
        with pytest.raises(InvalidCursorError):
            CursorSigner(b"k" * 32).decode(token)


async def test_offset_page_counts_with_a_separate_query_only_when_asked(
    sessionmaker: Maker,
) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = WidgetRepository(uow.session)
        await repo.add_many([{"name": f"w{i}"} for i in range(5)])
        page = await repo.offset_page(OffsetParams(limit=2, offset=4, with_total=True), sort="name")
        assert [w.name for w in page.items] == ["w4"]
        assert page.total == 5
        assert (await repo.offset_page(OffsetParams(limit=2), sort="name")).total is None
