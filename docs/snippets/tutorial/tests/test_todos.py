# --8<-- [start:imports]
import asyncio
import time

import httpx

from bastion.testing import ClientFactory

TODOS = "/api/v1/todos"
# --8<-- [end:imports]


# --8<-- [start:auth]
async def test_an_account_registers_logs_in_and_refreshes(
    bastion_client: httpx.AsyncClient,
) -> None:
    account = {"email": "ada@example.com", "password": "correct horse battery staple"}
    assert (await bastion_client.post("/api/v1/auth/register", json=account)).status_code == 201
    form = {"username": account["email"], "password": account["password"]}
    tokens = (await bastion_client.post("/api/v1/auth/login", data=form)).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = await bastion_client.get("/api/v1/auth/me", headers=bearer)
    assert me.json()["email"] == "ada@example.com"
    body = {"refresh_token": tokens["refresh_token"]}
    assert (await bastion_client.post("/api/v1/auth/refresh", json=body)).status_code == 200


# --8<-- [end:auth]
# --8<-- [start:crud]
async def test_a_todo_is_created_read_changed_and_deleted(
    bastion_client_factory: ClientFactory,
) -> None:
    client = await bastion_client_factory()  # a new user, logged in with a Bearer token
    created = await client.post(TODOS, json={"title": "Buy milk"})
    assert created.status_code == 201
    todo = created.json()
    assert (todo["title"], todo["done"], todo["version"]) == ("Buy milk", False, 1)
    url = f"{TODOS}/{todo['id']}"
    read = await client.get(url)
    assert read.headers["ETag"] == '"1"'
    changed = await client.patch(url, json={"done": True}, headers={"If-Match": '"1"'})
    assert changed.json()["done"] is True
    assert changed.headers["ETag"] == '"2"'
    assert (await client.delete(url, headers={"If-Match": '"2"'})).status_code == 204
    assert (await client.get(url)).status_code == 404


# --8<-- [end:crud]
# --8<-- [start:if-match]
async def test_a_stale_if_match_changes_nothing(bastion_client_factory: ClientFactory) -> None:
    client = await bastion_client_factory()
    url = f"{TODOS}/{(await client.post(TODOS, json={'title': 'Call Bob'})).json()['id']}"
    await client.patch(url, json={"title": "Call Bob today"})  # version 2
    stale = await client.patch(url, json={"done": True}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "PRECONDITION_FAILED"
    assert (await client.delete(url, headers={"If-Match": '"1"'})).status_code == 412
    assert (await client.get(url)).json()["done"] is False


# --8<-- [end:if-match]
# --8<-- [start:owner]
async def test_a_todo_is_its_owners_only(bastion_client_factory: ClientFactory) -> None:
    alice, bob = await bastion_client_factory(), await bastion_client_factory()
    url = f"{TODOS}/{(await alice.post(TODOS, json={'title': 'Secret'})).json()['id']}"
    assert (await bob.get(url)).status_code == 404
    assert (await bob.patch(url, json={"done": True})).status_code == 404
    assert (await bob.delete(url)).status_code == 404
    assert (await bob.get(TODOS)).json()["items"] == []


# --8<-- [end:owner]
# --8<-- [start:list]
async def test_the_list_pages_by_cursor_and_filters_on_done(
    bastion_client_factory: ClientFactory,
) -> None:
    client = await bastion_client_factory()
    for title, done in [("one", True), ("two", False), ("three", True)]:
        await client.post(TODOS, json={"title": title, "done": done})
    first = (await client.get(TODOS, params={"limit": 2})).json()
    assert [todo["title"] for todo in first["items"]] == ["three", "two"]  # newest first
    rest = (await client.get(TODOS, params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert ([todo["title"] for todo in rest["items"]], rest["next_cursor"]) == (["one"], None)
    done = (await client.get(TODOS, params={"done": "true"})).json()
    assert [todo["title"] for todo in done["items"]] == ["three", "one"]
    reused = await client.get(TODOS, params={"done": "false", "cursor": first["next_cursor"]})
    assert reused.json()["error"]["code"] == "INVALID_CURSOR"  # a cursor keeps to its filters


# --8<-- [end:list]
# --8<-- [start:rate-limit]
async def test_each_user_may_create_30_todos_a_minute(
    bastion_client_factory: ClientFactory,
) -> None:
    alice, bob = await bastion_client_factory(), await bastion_client_factory()
    if time.time() % 60 > 50:  # the 31 creates stay inside one minute's window
        await asyncio.sleep(60 - time.time() % 60)
    for number in range(30):
        assert (await alice.post(TODOS, json={"title": f"todo {number}"})).status_code == 201
    refused = await alice.post(TODOS, json={"title": "one too many"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert (await bob.post(TODOS, json={"title": "mine"})).status_code == 201  # Bob's own count


# --8<-- [end:rate-limit]
