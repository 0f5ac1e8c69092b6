"""Each test sees a migrated database and none of another test's writes, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import func, select

from bastion.core import BastionSettings
from bastion.db import create_engine
from bastion.testing import ClientFactory, TestDatabase, UowFactory, UserFactory
from tests.testing.hostapp import Bookmark

BOOKMARKS = "/api/v1/bookmarks"
# The database each backend's tests ran on, to prove it is built once per session.
SEEN: dict[str, TestDatabase] = {}


async def _count(client: httpx.AsyncClient) -> int:
    response = await client.get(f"{BOOKMARKS}/count")
    assert response.status_code == 200, response.text
    count: int = response.json()["count"]
    return count


async def _write_two_and_count(client_factory: ClientFactory, client: httpx.AsyncClient) -> None:
    assert await _count(client) == 0
    owner = await client_factory()
    for url in ("https://a.example", "https://b.example"):
        assert (await owner.post(BOOKMARKS, json={"url": url})).status_code == 201
    assert await _count(client) == 2


async def test_a_test_starts_on_an_empty_migrated_database(
    bastion_client_factory: ClientFactory, bastion_client: httpx.AsyncClient
) -> None:
    await _write_two_and_count(bastion_client_factory, bastion_client)


async def test_the_next_test_sees_none_of_the_previous_tests_writes(
    bastion_client_factory: ClientFactory, bastion_client: httpx.AsyncClient
) -> None:
    await _write_two_and_count(bastion_client_factory, bastion_client)


async def test_writes_are_never_committed_where_another_connection_could_see_them(
    bastion_client_factory: ClientFactory, bastion_settings: BastionSettings
) -> None:
    owner = await bastion_client_factory()
    assert (await owner.post(BOOKMARKS, json={"url": "https://c.example"})).status_code == 201
    engine = create_engine(bastion_settings)
    try:
        async with engine.connect() as outsider:
            # Autocommit: on SQLite a read that takes no lock, beside the test's writer.
            await outsider.execution_options(isolation_level="AUTOCOMMIT")
            assert (await outsider.scalar(select(func.count()).select_from(Bookmark))) == 0
    finally:
        await engine.dispose()


async def test_a_test_can_read_and_write_in_the_same_transaction_as_the_app(
    bastion_uow: UowFactory,
    bastion_client_factory: ClientFactory,
    bastion_client: httpx.AsyncClient,
) -> None:
    owner = await bastion_client_factory()
    created = (await owner.post(BOOKMARKS, json={"url": "https://d.example"})).json()
    async with bastion_uow() as uow:
        row = await uow.session.get(Bookmark, uuid.UUID(created["id"]))
        assert row is not None
        uow.session.add(Bookmark(owner_id=row.owner_id, url="https://e.example"))
    assert [b["url"] for b in (await owner.get(BOOKMARKS)).json()] == [
        "https://d.example",
        "https://e.example",
    ]


async def test_an_error_response_rolls_back_its_own_request_only(
    bastion_user_factory: UserFactory,
    bastion_client_factory: ClientFactory,
    bastion_client: httpx.AsyncClient,
) -> None:
    user = await bastion_user_factory("taken@example.com")
    duplicate = await bastion_client.post(
        "/api/v1/auth/register",
        json={"email": "taken@example.com", "password": "another long passphrase 42"},
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "EMAIL_TAKEN"
    client = await bastion_client_factory(user)  # the earlier write survived the 409
    assert (await client.get("/api/v1/auth/me")).json()["email"] == "taken@example.com"


async def test_concurrent_requests_in_one_test_all_complete(
    bastion_client_factory: ClientFactory, bastion_client: httpx.AsyncClient
) -> None:
    owner = await bastion_client_factory()
    responses = await asyncio.gather(
        *(owner.post(BOOKMARKS, json={"url": f"https://{n}.example"}) for n in range(8))
    )
    assert {r.status_code for r in responses} == {201}
    assert await _count(bastion_client) == 8


def test_the_database_is_built_once_per_backend_and_session(
    bastion_database: TestDatabase, bastion_backend: str
) -> None:
    assert bastion_database.backend == bastion_backend
    assert SEEN.setdefault(bastion_backend, bastion_database) is bastion_database


def test_the_database_is_still_the_same_one_for_a_later_test(
    bastion_database: TestDatabase, bastion_backend: str
) -> None:
    assert SEEN.setdefault(bastion_backend, bastion_database) is bastion_database
