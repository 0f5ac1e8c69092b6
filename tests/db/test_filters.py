"""Every typed filter, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bastion.db import (
    After,
    Before,
    Eq,
    Filter,
    Ge,
    Gt,
    In,
    InvalidFilterError,
    IsNull,
    Le,
    Lt,
    Ne,
    NotIn,
    Search,
    UnitOfWork,
)
from tests.db.models import WidgetRepository

Maker = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 1, 1, tzinfo=UTC)
ROWS = [
    {"name": "alpha", "price": 1, "category": "tools", "created_at": T0},
    {"name": "beta", "price": 2, "category": None, "created_at": T0 + timedelta(hours=1)},
    {"name": "gamma_1", "price": 3, "category": "toys", "created_at": T0 + timedelta(hours=2)},
    {"name": "Gamma%2", "price": 4, "category": "tools", "created_at": T0 + timedelta(hours=3)},
]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([Eq("category", "tools")], {"alpha", "Gamma%2"}),
        ([Ne("name", "alpha")], {"beta", "gamma_1", "Gamma%2"}),
        ([Lt("price", 2)], {"alpha"}),
        ([Le("price", 2)], {"alpha", "beta"}),
        ([Gt("price", 3)], {"Gamma%2"}),
        ([Ge("price", 3)], {"gamma_1", "Gamma%2"}),
        ([In("price", [1, 4])], {"alpha", "Gamma%2"}),
        ([In("price", [])], set()),
        ([NotIn("price", [1, 4])], {"beta", "gamma_1"}),
        ([IsNull("category")], {"beta"}),
        ([IsNull("category", null=False)], {"alpha", "gamma_1", "Gamma%2"}),
        ([Search(["name"], "GAMMA")], {"gamma_1", "Gamma%2"}),
        ([Search(["name"], "%")], {"Gamma%2"}),
        ([Search(["name"], "_")], {"gamma_1"}),
        ([Search(["name", "category"], "toy")], {"gamma_1"}),
        ([Before("created_at", T0 + timedelta(hours=1))], {"alpha"}),
        ([Before("created_at", T0 + timedelta(hours=1), inclusive=True)], {"alpha", "beta"}),
        ([After("created_at", T0 + timedelta(hours=2))], {"Gamma%2"}),
        ([After("created_at", T0 + timedelta(hours=2), inclusive=True)], {"gamma_1", "Gamma%2"}),
        ([Eq("category", "tools"), Gt("price", 1)], {"Gamma%2"}),
    ],
)
async def test_filters_select_exactly_the_matching_rows(
    sessionmaker: Maker, filters: list[Filter], expected: set[str]
) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        repo = WidgetRepository(uow.session)
        await repo.add_many(ROWS)
        assert {w.name for w in await repo.list(*filters)} == expected
        assert await repo.count(*filters) == len(expected)
        assert await repo.exists(*filters) is bool(expected)


@pytest.mark.parametrize(
    "bad", [Eq("colour", "red"), Search([], "x"), Search(["parts"], "x")], ids=["eq", "none", "rel"]
)
async def test_a_filter_on_something_that_is_no_column_is_a_422(
    sessionmaker: Maker, bad: Filter
) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        with pytest.raises(InvalidFilterError) as caught:
            await WidgetRepository(uow.session).list(bad)
    assert caught.value.status_code == 422
    assert caught.value.code == "INVALID_FILTER"


def test_every_filter_satisfies_the_protocol() -> None:
    for item in (Eq("a", 1), In("a", []), IsNull("a"), Search(["a"], "b"), After("a", T0)):
        assert isinstance(item, Filter)
