"""`POST /api/v1/notes` honours `Idempotency-Key`, per user, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from conftest import sign_up  # type: ignore[import-not-found]  # this directory's conftest

NOTES = "/api/v1/notes"
KEY = {"Idempotency-Key": "5b8c3a1e-retry-of-one-create"}


async def _titles(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> list[str]:
    page = (await client.get(NOTES, headers=headers)).json()
    return [note["title"] for note in page["items"]]


async def test_a_retried_create_replays_the_first_note(client: httpx.AsyncClient) -> None:
    first = await client.post(NOTES, json={"title": "once", "body": "b"}, headers=KEY)
    retry = await client.post(NOTES, json={"title": "once", "body": "b"}, headers=KEY)
    assert first.status_code == retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert await _titles(client) == ["once"]


async def test_the_same_key_with_another_note_is_422_idempotency_key_reused(
    client: httpx.AsyncClient,
) -> None:
    await client.post(NOTES, json={"title": "once"}, headers=KEY)
    other = await client.post(NOTES, json={"title": "twice"}, headers=KEY)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await _titles(client) == ["once"]


async def test_another_users_identical_key_is_independent(client: httpx.AsyncClient) -> None:
    mine = await client.post(NOTES, json={"title": "same"}, headers=KEY)
    token = await sign_up(client, "other@example.com")
    other_user = {"Authorization": f"Bearer {token}"}
    theirs = await client.post(NOTES, json={"title": "same"}, headers={**KEY, **other_user})
    assert theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]
    assert await _titles(client, other_user) == ["same"]


async def test_a_bad_key_is_400_and_an_anonymous_keyed_create_is_401(
    client: httpx.AsyncClient,
) -> None:
    bad = await client.post(NOTES, json={"title": "x"}, headers={"Idempotency-Key": ""})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "INVALID_IDEMPOTENCY_KEY"
    anonymous = await client.post(NOTES, json={"title": "x"}, headers={**KEY, "Authorization": ""})
    assert anonymous.status_code == 401
    assert await _titles(client) == []
    # Neither left the key used: the owner's create with it is a first one.
    created = await client.post(NOTES, json={"title": "x"}, headers=KEY)
    assert "idempotent-replayed" not in created.headers


async def test_a_patch_ignores_the_key(client: httpx.AsyncClient) -> None:
    note = (await client.post(NOTES, json={"title": "a"})).json()
    for title in ("b", "c"):
        patched = await client.patch(f"{NOTES}/{note['id']}", json={"title": title}, headers=KEY)
        assert patched.json()["title"] == title
        assert "idempotent-replayed" not in patched.headers
