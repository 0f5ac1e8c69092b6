"""The user factory and the logged-in clients, in Bearer and cookie modes."""

from __future__ import annotations

import httpx
import pytest

from bastion.auth import CSRF_HEADER
from bastion.testing import ClientFactory, UserFactory

ME = "/api/v1/auth/me"
BOOKMARKS = "/api/v1/bookmarks"


async def test_a_made_user_logs_in_and_is_who_the_factory_says(
    bastion_user_factory: UserFactory, bastion_client_factory: ClientFactory
) -> None:
    user = await bastion_user_factory("Ada@Example.com", roles=["admin"])
    assert user.email == "ada@example.com"
    client = await bastion_client_factory(user)
    me = (await client.get(ME)).json()
    assert (me["id"], me["email"], me["roles"]) == (str(user.id), user.email, ["admin"])


async def test_every_made_user_is_a_new_one(bastion_user_factory: UserFactory) -> None:
    first, second = await bastion_user_factory(), await bastion_user_factory()
    assert first.email != second.email
    assert first.password != second.password


async def test_a_bearer_client_sends_its_token_and_an_anonymous_one_is_refused(
    bastion_client_factory: ClientFactory, bastion_client: httpx.AsyncClient
) -> None:
    client = await bastion_client_factory()
    assert client.headers["Authorization"].startswith("Bearer ")
    assert (await client.post(BOOKMARKS, json={"url": "https://a.example"})).status_code == 201
    anonymous = await bastion_client.post(BOOKMARKS, json={"url": "https://a.example"})
    assert anonymous.status_code == 401


async def test_a_deactivated_user_cannot_log_in(
    bastion_user_factory: UserFactory, bastion_client_factory: ClientFactory
) -> None:
    user = await bastion_user_factory(active=False)
    with pytest.raises(RuntimeError, match="401"):
        await bastion_client_factory(user)


async def test_the_password_policy_applies_to_made_users(
    bastion_user_factory: UserFactory,
) -> None:
    with pytest.raises(Exception, match="password"):  # WeakPasswordError
        await bastion_user_factory(password="short")


@pytest.mark.bastion_settings(auth_cookie_mode=True)
async def test_a_cookie_client_carries_the_session_cookies_and_the_csrf_header(
    bastion_client_factory: ClientFactory,
) -> None:
    client = await bastion_client_factory(mode="cookie")
    assert "Authorization" not in client.headers
    assert str(client.base_url).startswith("https://")
    assert (await client.get(ME)).status_code == 200
    assert (await client.post(BOOKMARKS, json={"url": "https://a.example"})).status_code == 201
    del client.headers[CSRF_HEADER]
    refused = await client.post(BOOKMARKS, json={"url": "https://b.example"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "CSRF_FAILED"


async def test_a_cookie_client_needs_the_app_in_cookie_mode(
    bastion_client_factory: ClientFactory,
) -> None:
    with pytest.raises(RuntimeError, match="auth_cookie_mode"):
        await bastion_client_factory(mode="cookie")
