"""The request's unit of work: committed before the response, rolled back on any error."""

from __future__ import annotations

import asyncio
import base64
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends

from bastion import create_app
from bastion.core import BastionSettings
from bastion.db import UnitOfWork
from bastion.web import Uow
from tests.conftest import serve
from tests.db.app import widget_app
from tests.db.models import TagRepository, WidgetRepository


async def test_a_created_row_is_committed_before_the_201_arrives(
    db_settings: BastionSettings,
) -> None:
    app = widget_app(db_settings)
    async with serve(app) as client:
        created = await client.post("/api/v1/widgets", json={"name": "bolt", "price": 2})
        assert created.status_code == 201
        async with UnitOfWork(app.state.resources.sessionmaker) as uow:
            assert [w.name for w in await WidgetRepository(uow.session).list()] == ["bolt"]


async def test_a_commit_that_fails_becomes_an_error_response_and_keeps_nothing(
    db_settings: BastionSettings,
) -> None:
    app = widget_app(db_settings)
    async with serve(app) as client:
        missing = "01890f5e-0000-7000-8000-000000000000"
        response = await client.post(f"/api/v1/widgets/{missing}/tags")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "FOREIGN_KEY_VIOLATION"
        async with UnitOfWork(app.state.resources.sessionmaker) as uow:
            assert await TagRepository(uow.session).count() == 0


async def test_a_route_that_raises_after_writing_persists_nothing(
    db_settings: BastionSettings,
) -> None:
    app = widget_app(db_settings)
    async with serve(app) as client:
        response = await client.post("/api/v1/widgets/explode", json={"name": "bolt"})
        assert response.status_code == 409
        assert (await client.post("/api/v1/widgets", json={"name": "bolt"})).status_code == 201
        async with UnitOfWork(app.state.resources.sessionmaker) as uow:
            assert await WidgetRepository(uow.session).count() == 1


async def test_concurrent_duplicate_inserts_give_one_201_and_one_409_never_a_500(
    db_settings: BastionSettings,
) -> None:
    app = widget_app(db_settings)
    async with serve(app) as client:
        responses = await asyncio.gather(
            *(client.post("/api/v1/widgets", json={"name": "same"}) for _ in range(2))
        )
        assert sorted(r.status_code for r in responses) == [201, 409]
        conflict = next(r for r in responses if r.status_code == 409).json()["error"]
        assert conflict["code"] == "WIDGET_NAME_TAKEN"
        assert conflict["details"] == {"constraint": "uq_widgets_name"}


async def test_a_patch_to_a_taken_name_is_a_409_and_to_a_missing_row_a_404(
    db_settings: BastionSettings,
) -> None:
    app = widget_app(db_settings)
    async with serve(app) as client:
        await client.post("/api/v1/widgets", json={"name": "a"})
        b = (await client.post("/api/v1/widgets", json={"name": "b"})).json()
        taken = await client.patch(f"/api/v1/widgets/{b['id']}", json={"name": "a"})
        assert taken.status_code == 409
        missing = await client.patch(
            "/api/v1/widgets/01890f5e-0000-7000-8000-000000000000", json={"price": 1}
        )
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "NOT_FOUND"


async def test_ready_reports_the_database_check(db_settings: BastionSettings) -> None:
    async with serve(widget_app(db_settings)) as client:
        response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


async def test_keyset_pages_over_http_walk_every_row_once(db_settings: BastionSettings) -> None:
    app = widget_app(db_settings)
    async with serve(app) as client:
        for i in range(7):
            await client.post("/api/v1/widgets", json={"name": f"w{i}"})
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/api/v1/widgets", params=params)).json()
            seen += [item["name"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == [f"w{i}" for i in range(7)]
        assert len(seen) == 7


def _tamper(cursor: str) -> str:
    body, mac = cursor.split(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[-3] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode() + "." + mac


@pytest.mark.parametrize(
    "make_cursor",
    [
        pytest.param(_tamper, id="tampered"),
        pytest.param(lambda _c: "garbage", id="garbage"),
        pytest.param(lambda _c: "!!!.???", id="not-base64"),
        pytest.param(lambda c: c.split(".")[0] + ".", id="no-mac"),
    ],
)
async def test_a_bad_cursor_is_a_422_invalid_cursor(
    db_settings: BastionSettings, make_cursor: object
) -> None:
    app = widget_app(db_settings)
    async with serve(app) as client:
        for i in range(3):
            await client.post("/api/v1/widgets", json={"name": f"w{i}"})
        cursor = (await client.get("/api/v1/widgets", params={"limit": 1})).json()["next_cursor"]
        bad = make_cursor(cursor)  # type: ignore[operator]
        response = await client.get("/api/v1/widgets", params={"cursor": bad})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_CURSOR"


@pytest.mark.parametrize("limit", [0, 101, -1])
async def test_a_limit_outside_1_to_100_is_a_422(db_settings: BastionSettings, limit: int) -> None:
    async with serve(widget_app(db_settings)) as client:
        response = await client.get("/api/v1/widgets", params={"limit": limit})
    assert response.status_code == 422


async def test_offset_pages_count_the_total_only_when_asked(db_settings: BastionSettings) -> None:
    async with serve(widget_app(db_settings)) as client:
        for name in "cab":
            await client.post("/api/v1/widgets", json={"name": name})
        plain = (await client.get("/api/v1/widgets/by-offset", params={"limit": 2})).json()
        counted = (
            await client.get(
                "/api/v1/widgets/by-offset", params={"limit": 2, "offset": 2, "total": "true"}
            )
        ).json()
    assert [w["name"] for w in plain["items"]] == ["a", "b"]
    assert plain["total"] is None
    assert [w["name"] for w in counted["items"]] == ["c"]
    assert (counted["total"], counted["limit"], counted["offset"]) == (3, 2, 2)


async def _request_uow(uow: Uow) -> UnitOfWork:
    return uow


def _same_uow_router() -> APIRouter:
    router = APIRouter()

    @router.get("/same")
    async def same(
        uow: Uow, other: Annotated[UnitOfWork, Depends(_request_uow)]
    ) -> dict[str, bool]:
        return {"same": uow is other}

    return router


async def test_every_dependency_of_a_request_shares_one_unit_of_work(
    db_settings: BastionSettings,
) -> None:
    async with serve(create_app(db_settings, routers=[_same_uow_router()])) as client:
        assert (await client.get("/api/v1/same")).json() == {"same": True}


async def test_concurrent_read_then_write_requests_never_fail_with_busy(
    db_settings: BastionSettings,
) -> None:
    # Each request counts the rows, then inserts "widget-<count>". On SQLite a
    # deferred transaction fails with SQLITE_BUSY (a 503) when another commits in
    # between; with the write lock taken at BEGIN they queue and see each other.
    app = widget_app(db_settings)
    async with serve(app) as client:
        responses = await asyncio.gather(
            *(client.post("/api/v1/widgets/numbered") for _ in range(8))
        )
    statuses = [r.status_code for r in responses]
    assert 503 not in statuses
    assert 500 not in statuses
    if db_settings.database_url.get_secret_value().startswith("sqlite"):
        # Serialized: every insert saw the previous ones, so every name is unique.
        assert statuses == [201] * 8
