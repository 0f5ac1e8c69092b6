import httpx
import pytest

from bastion.testing import ClientFactory, ManualClock, UserFactory

NOTES = "/api/v1/notes"


async def test_a_note_is_created_and_listed(bastion_client_factory: ClientFactory) -> None:
    client = await bastion_client_factory()  # a new user, logged in with a Bearer token
    created = await client.post(NOTES, json={"title": "Groceries"})
    assert created.status_code == 201
    listed = await client.get(NOTES)
    assert [note["title"] for note in listed.json()["items"]] == ["Groceries"]


async def test_each_test_starts_on_an_empty_database(
    bastion_client_factory: ClientFactory,
) -> None:
    client = await bastion_client_factory()
    assert (await client.get(NOTES)).json()["items"] == []  # the note above was rolled back


async def test_notes_need_a_login(bastion_client: httpx.AsyncClient) -> None:
    assert (await bastion_client.get(NOTES)).status_code == 401


async def test_an_admin_sees_the_users(
    bastion_user_factory: UserFactory, bastion_client_factory: ClientFactory
) -> None:
    admin = await bastion_user_factory("root@example.com", roles=["admin"])
    client = await bastion_client_factory(admin)
    assert (await client.get("/api/v1/admin/users")).status_code == 200


async def test_an_access_token_expires_after_15_minutes(
    bastion_client_factory: ClientFactory, bastion_clock: ManualClock
) -> None:
    client = await bastion_client_factory()
    bastion_clock.advance(minutes=16)
    assert (await client.get(NOTES)).json()["error"]["code"] == "INVALID_TOKEN"


@pytest.mark.bastion_settings(auth_cookie_mode=True)
async def test_a_browser_session_writes_with_its_csrf_token(
    bastion_client_factory: ClientFactory,
) -> None:
    client = await bastion_client_factory(mode="cookie")  # cookies, and the CSRF header
    assert (await client.post(NOTES, json={"title": "From a browser"})).status_code == 201
