"""BaseRepository on SQLite and PostgreSQL: every operation returns DTOs, never ORM entities."""

from __future__ import annotations

import uuid

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bastion.db import (
    BaseRepository,
    ConstraintViolationError,
    CursorSigner,
    DuplicateError,
    Eq,
    ForeignKeyViolationError,
    InvalidCursorError,
    InvalidSortError,
    KeysetParams,
    ReadOnlyFieldError,
    UnitOfWork,
    uuid7,
)
from bastion.errors import NotFoundError
from tests.db.models import (
    DocRepository,
    PartRepository,
    Tag,
    TagOut,
    Widget,
    WidgetIn,
    WidgetOut,
    WidgetPatch,
    WidgetRepository,
    WidgetWithParts,
)

Maker = async_sessionmaker[AsyncSession]


async def test_add_returns_a_frozen_dto_with_a_uuid7_key_and_equal_utc_timestamps(
    sessionmaker: Maker,
) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        widget = await WidgetRepository(uow.session).add(WidgetIn(name="bolt", price=3))
    assert type(widget) is WidgetOut
    assert widget.id.version == 7
    assert widget.created_at == widget.updated_at
    assert widget.created_at.utcoffset() is not None
    with pytest.raises(ValidationError):
        widget.name = "nut"  # type: ignore[misc]


async def test_get_reads_back_the_committed_row_and_missing_ids_raise_not_found(
    sessionmaker: Maker,
) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        added = await WidgetRepository(uow.session).add({"name": "bolt", "price": 3})
    async with UnitOfWork(sessionmaker) as uow:
        repo = WidgetRepository(uow.session)
        assert await repo.get(added.id) == added
        assert await repo.get_or_none(uuid7()) is None
        with pytest.raises(NotFoundError):
            await repo.get(uuid7())


async def test_an_add_without_reading_back_returns_what_a_read_returns(
    sessionmaker: Maker,
) -> None:
    from datetime import datetime, timedelta, timezone

    local = datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    async with UnitOfWork(sessionmaker) as uow:
        repo = WidgetRepository(uow.session)
        added = await repo.add({"name": "bolt", "created_at": local})
        assert added.created_at == local
        assert added.created_at.utcoffset() == timedelta(0)
        assert added.category is None
        assert added.price == 0
    async with UnitOfWork(sessionmaker) as uow:
        assert await WidgetRepository(uow.session).get(added.id) == added


async def test_an_add_reads_back_values_only_the_database_knows(sessionmaker: Maker) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        widget = await WidgetRepository(uow.session).add(WidgetIn(name="bolt"))
        part = await PartRepository(uow.session).add({"widget_id": widget.id, "label": "x"})
        assert part.weight == 1
        assert await PartRepository(uow.session).get(part.id) == part


async def test_get_many_keeps_the_requested_order_and_skips_missing_ids(
    sessionmaker: Maker,
) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = WidgetRepository(uow.session)
        a = await repo.add(WidgetIn(name="a"))
        b = await repo.add(WidgetIn(name="b"))
        found = await repo.get_many([b.id, uuid7(), a.id])
        assert [w.name for w in found] == ["b", "a"]
        assert await repo.get_many([]) == []


async def test_add_many_inserts_every_row_in_one_call(sessionmaker: Maker) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = WidgetRepository(uow.session)
        count = await repo.add_many(WidgetIn(name=f"w{i}", price=i) for i in range(250))
        assert count == 250
        assert await repo.add_many([]) == 0
    async with UnitOfWork(sessionmaker) as uow:
        assert await WidgetRepository(uow.session).count() == 250


async def test_list_sorts_by_an_allow_listed_field_and_refuses_others(sessionmaker: Maker) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = WidgetRepository(uow.session)
        await repo.add_many([WidgetIn(name=n, price=p) for n, p in [("c", 1), ("a", 3), ("b", 2)]])
        assert [w.name for w in await repo.list(sort="name")] == ["a", "b", "c"]
        assert [w.name for w in await repo.list(sort="-price", limit=2)] == ["a", "b"]
        assert [w.name for w in await repo.list(sort="name", limit=1, offset=1)] == ["b"]
        with pytest.raises(InvalidSortError):
            await repo.list(sort="category")


async def test_update_applies_only_the_fields_the_client_set(sessionmaker: Maker) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = WidgetRepository(uow.session)
        widget = await repo.add(WidgetIn(name="bolt", price=3, category="metal"))
        updated = await repo.update(widget.id, WidgetPatch(price=5))
        assert (updated.name, updated.price, updated.category) == ("bolt", 5, "metal")
        assert updated.updated_at >= widget.updated_at
        cleared = await repo.update(widget.id, WidgetPatch.model_validate({"category": None}))
        assert cleared.category is None
        with pytest.raises(NotFoundError):
            await repo.update(uuid7(), WidgetPatch(price=1))
        with pytest.raises(ReadOnlyFieldError) as refused:
            await repo.update(widget.id, {"created_at": widget.created_at, "id": widget.id})
        assert refused.value.details == {"fields": ["created_at", "id"]}
        with pytest.raises(ValueError, match="not columns"):
            await repo.update(widget.id, {"colour": "red"})


async def test_delete_removes_the_row_and_a_second_delete_is_not_found(sessionmaker: Maker) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = WidgetRepository(uow.session)
        widget = await repo.add(WidgetIn(name="bolt"))
        await repo.delete(widget.id)
        assert not await repo.exists()
        with pytest.raises(NotFoundError):
            await repo.delete(widget.id)


async def test_upsert_inserts_then_updates_the_row_holding_the_unique_value(
    sessionmaker: Maker,
) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = WidgetRepository(uow.session)
        first = await repo.upsert(WidgetIn(name="bolt", price=1), conflict=["name"])
        second = await repo.upsert(WidgetIn(name="bolt", price=9), conflict=["name"])
        assert second.id == first.id
        assert second.created_at == first.created_at
        assert second.price == 9
        only_price = await repo.upsert(
            {"name": "bolt", "price": 4, "category": "x"}, conflict=["name"], update=["price"]
        )
        assert (only_price.price, only_price.category) == (4, None)
        assert await repo.count() == 1


async def test_a_scoped_repository_reads_and_writes_only_its_own_rows(
    sessionmaker: Maker,
) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        theirs = await WidgetRepository(uow.session, category="toys").add(WidgetIn(name="yo-yo"))
        repo = WidgetRepository(uow.session, category="tools")
        mine = await repo.add(WidgetIn(name="bolt", category="toys"))  # the scope wins
        assert mine.category == "tools"
        assert await repo.add_many([{"name": "nut"}]) == 1
        assert [w.name for w in await repo.list(sort="name")] == ["bolt", "nut"]
        assert await repo.count() == 2
        assert not await repo.exists(Eq("name", "yo-yo"))
        assert await repo.get_many([theirs.id, mine.id]) == [mine]
        assert await repo.get_or_none(theirs.id) is None
        for write in (
            repo.get(theirs.id),
            repo.update(theirs.id, WidgetPatch(price=9)),
            repo.delete(theirs.id),
        ):
            with pytest.raises(NotFoundError):
                await write
        with pytest.raises(ReadOnlyFieldError):
            await repo.update(mine.id, {"category": "toys"})  # would leave the scope
        with pytest.raises(DuplicateError):
            await repo.upsert(WidgetIn(name="yo-yo", price=5), conflict=["name"])
        assert (await repo.upsert(WidgetIn(name="bolt", price=5), conflict=["name"])).price == 5
        unscoped = WidgetRepository(uow.session)
        assert await unscoped.get(theirs.id) == theirs  # left as it was
        assert await unscoped.count() == 3


async def test_a_cursor_of_one_scope_is_refused_in_another(sessionmaker: Maker) -> None:
    signer = CursorSigner("a-test-secret-key-that-is-long-enough-123")
    async with UnitOfWork(sessionmaker) as uow:
        tools = WidgetRepository(uow.session, category="tools")
        await tools.add_many([{"name": "bolt"}, {"name": "nut"}])
        page = await tools.page(KeysetParams(signer=signer, limit=1))
        assert page.next_cursor is not None
        toys = WidgetRepository(uow.session, category="toys")
        with pytest.raises(InvalidCursorError):
            await toys.page(KeysetParams.parse(signer, limit=1, cursor=page.next_cursor))


def test_a_scope_on_a_column_the_model_lacks_is_refused() -> None:
    with pytest.raises(ValueError, match="owner_id"):
        WidgetRepository(AsyncSession(), owner_id=1)


async def test_a_duplicate_unique_value_is_a_conflict_naming_the_constraint(
    sessionmaker: Maker,
) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = WidgetRepository(uow.session)
        await repo.add(WidgetIn(name="bolt"))
        with pytest.raises(DuplicateError) as caught:
            await repo.add(WidgetIn(name="bolt"))
    assert caught.value.status_code == 409
    assert caught.value.code == "WIDGET_NAME_TAKEN"
    assert caught.value.details == {"constraint": "uq_widgets_name"}


async def test_a_composite_unique_violation_names_its_constraint(sessionmaker: Maker) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        widget = await WidgetRepository(uow.session).add(WidgetIn(name="bolt"))
        parts = PartRepository(uow.session)
        await parts.add({"widget_id": widget.id, "label": "head"})
        with pytest.raises(DuplicateError) as caught:
            await parts.add({"widget_id": widget.id, "label": "head"})
    assert caught.value.code == "CONFLICT"
    assert caught.value.details == {"constraint": "uq_parts_widget_id_label"}


async def test_a_foreign_key_violation_is_a_409_with_its_own_code(sessionmaker: Maker) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        with pytest.raises(ForeignKeyViolationError) as caught:
            await PartRepository(uow.session).add({"widget_id": uuid7(), "label": "x"})
    assert (caught.value.status_code, caught.value.code) == (409, "FOREIGN_KEY_VIOLATION")


async def test_deleting_a_referenced_row_is_a_foreign_key_conflict(sessionmaker: Maker) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        widget = await WidgetRepository(uow.session).add(WidgetIn(name="bolt"))
        await PartRepository(uow.session).add({"widget_id": widget.id, "label": "x"})
        with pytest.raises(ForeignKeyViolationError):
            await WidgetRepository(uow.session).delete(widget.id)


async def test_check_and_not_null_violations_are_422_constraint_errors(
    sessionmaker: Maker,
) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = WidgetRepository(uow.session)
        with pytest.raises(ConstraintViolationError) as check:
            async with uow.nested():
                await repo.add(WidgetIn(name="bolt", price=-1))
        with pytest.raises(ConstraintViolationError) as not_null:
            async with uow.nested():
                await repo.add({"name": None})
    assert check.value.status_code == 422
    assert check.value.details == {"constraint": "ck_widgets_price_not_negative"}
    assert not_null.value.details == {"constraint": None, "column": "name"}


async def test_named_eager_loads_validate_relationships_into_the_dto(sessionmaker: Maker) -> None:
    class WidgetPartsRepository(WidgetRepository):
        out = WidgetWithParts  # type: ignore[assignment]
        default_sort = "name"

    async with UnitOfWork(sessionmaker) as uow:
        widget = await WidgetRepository(uow.session).add(WidgetIn(name="bolt"))
        await PartRepository(uow.session).add_many(
            [{"widget_id": widget.id, "label": label} for label in ("b", "a")]
        )
        found = await WidgetPartsRepository(uow.session).get(
            widget.id, load=[selectinload(Widget.parts)]
        )
        assert isinstance(found, WidgetWithParts)
        assert sorted(p.label for p in found.parts) == ["a", "b"]
        missing = await WidgetPartsRepository(uow.session).get_or_none(
            uuid7(), load=[selectinload(Widget.parts)]
        )
        assert missing is None


def test_a_dto_with_a_field_that_is_no_column_is_refused_when_the_class_is_defined() -> None:
    class Odd(BaseModel):
        id: uuid.UUID
        colour: str

    with pytest.raises(TypeError, match="colour"):

        class OddRepository(WidgetRepository):
            out = Odd  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("settings", "out"),
    [
        ({}, TagOut),  # the default `-created_at`, on a DTO without `created_at`
        ({"sortable": frozenset({"name"})}, WidgetOut),  # the default left out of `sortable`
        ({"default_sort": "-price", "sortable": frozenset({"price"})}, TagOut),
    ],
)
def test_a_default_sort_a_list_cannot_use_is_refused_when_the_class_is_defined(
    settings: dict[str, object], out: type[BaseModel]
) -> None:
    # Otherwise every list without `?sort=` would blame its client with a 422 INVALID_SORT.
    model = Tag if out is TagOut else Widget
    with pytest.raises(TypeError, match="default_sort"):
        type("Unlistable", (BaseRepository,), {"model": model, "out": out, **settings})


def test_a_default_sort_on_a_field_of_the_dto_is_accepted() -> None:
    class LabelRepository(BaseRepository[Tag, TagOut]):
        model = Tag
        out = TagOut
        default_sort = "-label"
        sortable = frozenset({"label"})

    assert LabelRepository.default_sort == "-label"


def test_a_repository_base_without_model_or_dto_is_not_checked() -> None:
    class Base_(BaseRepository[Widget, WidgetOut]):
        default_sort = "name"
        sortable = frozenset({"name"})

    class Concrete(Base_):
        model = Widget
        out = WidgetOut

    assert Concrete.sortable == frozenset({"name"})


async def test_docs_repository_default_sort_is_newest_first(sessionmaker: Maker) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = DocRepository(uow.session)
        first = await repo.add({"title": "a", "slug": "a"})
        second = await repo.add({"title": "b", "slug": "b"})
        newest = await repo.list()
        assert [d.id for d in newest] == [second.id, first.id] or (
            second.created_at == first.created_at
        )


async def test_relationships_refuse_to_lazy_load(sessionmaker: Maker) -> None:
    from sqlalchemy import select
    from sqlalchemy.exc import InvalidRequestError

    async with UnitOfWork(sessionmaker) as uow:
        await WidgetRepository(uow.session).add(WidgetIn(name="bolt"))
        entity = (await uow.session.execute(select(Widget))).scalar_one()
        with pytest.raises(InvalidRequestError, match="lazy='raise'"):
            _ = entity.parts
