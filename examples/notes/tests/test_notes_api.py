"""The notes API contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import httpx
import pytest
from pydantic import SecretStr

from conftest import sign_up  # type: ignore[import-not-found]  # this directory's conftest
from notes_app.config import NotesSettings
from notes_app.main import create_notes_app
from tests.conftest import TEST_SECRET, serve

NOTES = "/api/v1/notes"
MISSING = "01890f5e-0000-7000-8000-000000000000"


async def test_create_returns_201_and_the_note_with_a_uuid_and_aware_timestamps(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(NOTES, json={"title": "Groceries", "body": "eggs"})
    assert response.status_code == 201
    note = response.json()
    assert set(note) == {"id", "title", "body", "created_at", "updated_at", "version"}
    assert uuid.UUID(note["id"]).version == 7
    assert (note["title"], note["body"]) == ("Groceries", "eggs")
    for field in ("created_at", "updated_at"):
        assert datetime.fromisoformat(note[field]).utcoffset() is not None


async def test_a_created_note_is_located_and_tagged_as_a_read_of_it_is(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post(NOTES, json={"title": "Groceries"})
    assert created.headers["location"] == f"{NOTES}/{created.json()['id']}"
    read = await client.get(created.headers["location"])
    assert read.json() == created.json()
    assert created.headers["etag"] == read.headers["etag"] == '"1"'


async def test_a_note_can_be_read_changed_in_part_and_deleted(client: httpx.AsyncClient) -> None:
    note = (await client.post(NOTES, json={"title": "a", "body": "keep"})).json()
    assert (await client.get(f"{NOTES}/{note['id']}")).json() == note
    patched = await client.patch(f"{NOTES}/{note['id']}", json={"title": "b"})
    assert patched.status_code == 200
    assert (patched.json()["title"], patched.json()["body"]) == ("b", "keep")
    assert patched.json()["updated_at"] >= note["updated_at"]
    empty_patch = await client.patch(f"{NOTES}/{note['id']}", json={})
    assert empty_patch.status_code == 200
    # A change of nothing writes nothing: the version, the ETag and `updated_at` stay.
    assert empty_patch.json() == patched.json()
    assert empty_patch.headers["etag"] == patched.headers["etag"]
    stale = await client.patch(
        f"{NOTES}/{note['id']}", json={}, headers={"If-Match": f'"{note["version"]}"'}
    )
    assert stale.status_code == 412
    deleted = await client.delete(f"{NOTES}/{note['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    gone = await client.get(f"{NOTES}/{note['id']}")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("method", "json"),
    [("GET", None), ("PATCH", {"title": "x"}), ("DELETE", None)],
)
async def test_a_missing_note_is_404_not_found(
    client: httpx.AsyncClient, method: str, json: object
) -> None:
    response = await client.request(method, f"{NOTES}/{MISSING}", json=json)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": "x" * 201},
        {"title": "ok", "body": "x" * 10_001},
        {"title": "ok", "owner": "me"},
        {"title": None},
        {"title": 5},
    ],
    ids=["no-title", "empty", "long-title", "long-body", "extra", "null", "number"],
)
async def test_invalid_notes_are_422(client: httpx.AsyncClient, body: object) -> None:
    response = await client.post(NOTES, json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    "body", [{"title": None}, {"body": None}, {"colour": "red"}, {"title": ""}]
)
async def test_invalid_patches_are_422(client: httpx.AsyncClient, body: object) -> None:
    note = (await client.post(NOTES, json={"title": "a"})).json()
    response = await client.patch(f"{NOTES}/{note['id']}", json=body)
    assert response.status_code == 422


async def test_limits_are_accepted_exactly_at_the_bounds(client: httpx.AsyncClient) -> None:
    await client.post(NOTES, json={"title": "a", "body": "x" * 10_000})
    assert (await client.post(NOTES, json={"title": "t" * 200})).status_code == 201
    for limit, status in ((1, 200), (100, 200), (0, 422), (101, 422)):
        assert (await client.get(NOTES, params={"limit": limit})).status_code == status


async def test_a_non_uuid_id_is_422(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{NOTES}/not-a-uuid")).status_code == 422


async def test_the_list_is_newest_first_and_pages_with_a_cursor(
    client: httpx.AsyncClient,
) -> None:
    created = [(await client.post(NOTES, json={"title": f"n{i}"})).json()["id"] for i in range(5)]
    first = (await client.get(NOTES, params={"limit": 2})).json()
    assert set(first) == {"items", "next_cursor"}
    ids = [n["id"] for n in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = (await client.get(NOTES, params={"limit": 2, "cursor": cursor})).json()
        ids += [n["id"] for n in page["items"]]
        cursor = page["next_cursor"]
    assert ids == list(reversed(created))
    default = (await client.get(NOTES)).json()
    assert len(default["items"]) == 5
    assert default["next_cursor"] is None


async def test_a_tampered_or_garbage_cursor_is_422_invalid_cursor(
    client: httpx.AsyncClient,
) -> None:
    for i in range(3):
        await client.post(NOTES, json={"title": f"n{i}"})
    cursor = (await client.get(NOTES, params={"limit": 1})).json()["next_cursor"]
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    for bad in (flipped, "garbage", cursor + "x"):
        response = await client.get(NOTES, params={"cursor": bad})
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "INVALID_CURSOR"


async def test_a_cursor_signed_with_another_key_is_refused(notes_settings: NotesSettings) -> None:
    # Two apps, two keys, one database: this test's own, which both commit to.
    other = notes_settings.model_copy(update={"secret_key": SecretStr("k" * 48)})
    async with serve(create_notes_app(notes_settings)) as client:
        client.headers["Authorization"] = f"Bearer {await sign_up(client, 'me@example.com')}"
        for i in range(2):
            await client.post(NOTES, json={"title": f"n{i}"})
        cursor = (await client.get(NOTES, params={"limit": 1})).json()["next_cursor"]
    async with serve(create_notes_app(other)) as other_client:
        token = await sign_up(other_client, "other@example.com")
        other_client.headers["Authorization"] = f"Bearer {token}"
        response = await other_client.get(NOTES, params={"cursor": cursor})
    assert response.json()["error"]["code"] == "INVALID_CURSOR"


async def test_concurrent_creates_all_succeed(client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(
        *(client.post(NOTES, json={"title": f"c{i}"}) for i in range(10))
    )
    assert {r.status_code for r in responses} == {201}
    assert len((await client.get(NOTES)).json()["items"]) == 10


def test_every_operation_documents_its_error_responses() -> None:
    settings = NotesSettings(environment="test", secret_key=TEST_SECRET, configure_logging=False)
    spec = create_notes_app(settings).openapi()
    operations = {
        (method.upper(), path): op
        for path, item in spec["paths"].items()
        if path.startswith(NOTES)
        for method, op in item.items()
    }
    assert set(operations) == {
        ("POST", NOTES),
        ("GET", NOTES),
        ("GET", NOTES + "/{note_id}"),
        ("PATCH", NOTES + "/{note_id}"),
        ("DELETE", NOTES + "/{note_id}"),
    }
    for (_method, path), op in operations.items():
        documented = set(op["responses"])
        assert {"422", "500", "503"} <= documented
        if "{note_id}" in path:
            assert "404" in documented
        for status in documented - {"200", "201", "204"}:
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}


@pytest.mark.parametrize(
    ("method", "field"),
    [("POST", "title"), ("POST", "body"), ("PATCH", "title"), ("PATCH", "body")],
)
async def test_a_nul_character_is_a_422_naming_the_field_and_nothing_is_stored(
    client: httpx.AsyncClient, method: str, field: str
) -> None:
    note = (await client.post(NOTES, json={"title": "kept", "body": "kept"})).json()
    path = NOTES if method == "POST" else f"{NOTES}/{note['id']}"
    body = {"title": "t", field: "before\x00after"}
    response = await client.request(method, path, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert {tuple(d["loc"][:2]) for d in error["details"]} == {("body", field)}
    assert "before" not in response.text
    items = (await client.get(NOTES)).json()["items"]
    assert [(n["title"], n["body"]) for n in items] == [("kept", "kept")]
