"""Notes over HTTP with optimistic locking and list filters, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from conftest import sign_up  # type: ignore[import-not-found]  # this directory's conftest

NOTES = "/api/v1/notes"


async def _note(client: httpx.AsyncClient, title: str = "a") -> dict[str, object]:
    response = await client.post(NOTES, json={"title": title})
    assert response.status_code == 201, response.text
    note: dict[str, object] = response.json()
    return note


async def test_get_and_patch_return_the_note_version_as_etag(client: httpx.AsyncClient) -> None:
    note = await _note(client)
    url = f"{NOTES}/{note['id']}"
    read = await client.get(url)
    assert (read.headers["etag"], read.json()["version"]) == ('"1"', 1)
    patched = await client.patch(url, json={"body": "b"}, headers={"If-Match": '"1"'})
    assert patched.status_code == 200, patched.text
    assert (patched.headers["etag"], patched.json()["version"]) == ('"2"', 2)


async def test_a_stale_if_match_is_412_and_nothing_is_written(client: httpx.AsyncClient) -> None:
    note = await _note(client)
    url = f"{NOTES}/{note['id']}"
    etag = (await client.get(url)).headers["etag"]
    assert (await client.patch(url, json={"title": "theirs"})).status_code == 200
    mine = await client.patch(url, json={"title": "mine"}, headers={"If-Match": etag})
    assert mine.status_code == 412, mine.text
    assert mine.json()["error"]["code"] == "PRECONDITION_FAILED"
    gone = await client.delete(url, headers={"If-Match": etag})
    assert gone.status_code == 412
    current = await client.get(url)
    assert (current.json()["title"], current.headers["etag"]) == ("theirs", '"2"')
    fresh = await client.delete(url, headers={"If-Match": current.headers["etag"]})
    assert fresh.status_code == 204


async def test_without_if_match_writes_proceed_as_before(client: httpx.AsyncClient) -> None:
    note = await _note(client)
    url = f"{NOTES}/{note['id']}"
    assert (await client.patch(url, json={"title": "b"})).status_code == 200
    assert (await client.patch(url, json={"title": "c"})).status_code == 200
    assert (await client.delete(url)).status_code == 204


async def test_a_version_in_the_body_is_a_422_never_a_500(client: httpx.AsyncClient) -> None:
    note = await _note(client)
    response = await client.patch(f"{NOTES}/{note['id']}", json={"title": "x", "version": 1})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_another_users_note_is_404_even_with_if_match(client: httpx.AsyncClient) -> None:
    note = await _note(client)
    intruder = {"Authorization": f"Bearer {await sign_up(client, 'intruder@example.com')}"}
    for header in ("*", '"1"'):
        response = await client.delete(
            f"{NOTES}/{note['id']}", headers={**intruder, "If-Match": header}
        )
        assert response.status_code == 404


async def test_the_list_filters_and_sorts_and_binds_its_cursor(client: httpx.AsyncClient) -> None:
    for title in ("milk", "bread", "jam", "milkshake"):
        await _note(client, title)
    found = await client.get(NOTES, params={"title[search]": "MILK", "sort": "title"})
    assert [n["title"] for n in found.json()["items"]] == ["milk", "milkshake"]
    first = (await client.get(NOTES, params={"sort": "title", "limit": 2})).json()
    assert [n["title"] for n in first["items"]] == ["bread", "jam"]
    reused = await client.get(
        NOTES, params={"sort": "title", "title": "jam", "cursor": first["next_cursor"]}
    )
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "INVALID_CURSOR"
    unknown = await client.get(NOTES, params={"owner_id": "x"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "INVALID_FILTER"


@pytest.mark.parametrize("char", ["\U0001f600", "\x1f"], ids=["emoji", "escaped-control"])
async def test_a_next_cursor_after_the_longest_titles_is_accepted(
    client: httpx.AsyncClient, char: str
) -> None:
    title = char * 200  # the longest title, of characters that take the most room in a cursor
    for _ in range(2):
        assert (await client.post(NOTES, json={"title": title})).status_code == 201
    params = {"sort": "title", "title": title, "limit": "1"}
    first = await client.get(NOTES, params=params)
    cursor = first.json()["next_cursor"]
    second = await client.get(NOTES, params={**params, "cursor": cursor})
    assert second.status_code == 200, second.text
    assert len(second.json()["items"]) == 1
    assert second.json()["items"][0]["id"] != first.json()["items"][0]["id"]
