"""Keyed requests over HTTP: replay, reuse, scoping, and what reserves nothing."""

from __future__ import annotations

import re

import httpx
import pytest

from bastion.core import BastionSettings
from bastion.idempotency import MAX_KEY_LENGTH
from tests.idempotency.app import idempotent_app

KEY = {"Idempotency-Key": "8e03978e-40d5-43e8-bc93-6894a57f9324"}


async def _count(client: httpx.AsyncClient) -> int:
    response = await client.get("/api/v1/items")
    count: int = response.json()["count"]
    return count


def _code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_the_same_key_and_body_replay_the_first_response_without_a_second_write(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/api/v1/items", json={"name": "a"}, headers=KEY)
    again = await client.post("/api/v1/items", json={"name": "a"}, headers=KEY)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    for name in ("location", "etag", "content-type"):
        assert again.headers[name] == first.headers[name]
    assert "x-not-replayed" not in again.headers  # only the allow-listed headers come back
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert await _count(client) == 1


async def test_the_draft_quoted_key_and_the_bare_key_are_one_key(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/v1/items", json={"name": "a"}, headers={"Idempotency-Key": "abc"})
    again = await client.post(
        "/api/v1/items", json={"name": "a"}, headers={"Idempotency-Key": '"abc"'}
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(client) == 1


async def test_the_same_key_with_another_body_is_422_and_writes_nothing(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/v1/items", json={"name": "a"}, headers=KEY)
    other = await client.post("/api/v1/items", json={"name": "b"}, headers=KEY)
    assert other.status_code == 422
    assert _code(other) == "IDEMPOTENCY_KEY_REUSED"
    assert await _count(client) == 1


async def test_the_same_key_with_another_query_is_422(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/items", json={"name": "a"}, headers=KEY)
    other = await client.post("/api/v1/items?x=1", json={"name": "a"}, headers=KEY)
    assert _code(other) == "IDEMPOTENCY_KEY_REUSED"


async def test_without_a_key_every_request_writes(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        response = await client.post("/api/v1/items", json={"name": "a"})
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
    assert await _count(client) == 2


async def test_a_route_without_the_option_ignores_the_key(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        response = await client.post("/api/v1/plain", json={"name": "a"}, headers=KEY)
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
    assert await _count(client) == 2


async def test_keys_are_scoped_per_principal(client: httpx.AsyncClient) -> None:
    ada = await client.post("/api/v1/items", json={"name": "a"}, headers={**KEY, "X-User": "ada"})
    bob = await client.post("/api/v1/items", json={"name": "a"}, headers={**KEY, "X-User": "bob"})
    assert ada.status_code == bob.status_code == 201
    assert "idempotent-replayed" not in bob.headers
    assert ada.json()["id"] != bob.json()["id"]
    ada_again = await client.post(
        "/api/v1/items", json={"name": "a"}, headers={**KEY, "X-User": "ada"}
    )
    assert ada_again.json() == ada.json()
    assert await _count(client) == 2


async def test_keys_are_scoped_per_route(client: httpx.AsyncClient) -> None:
    first = await client.post("/api/v1/items", json={"name": "a"}, headers=KEY)
    other = await client.post("/api/v1/items/copy", json={"name": "a"}, headers=KEY)
    assert first.status_code == other.status_code == 201
    assert "idempotent-replayed" not in other.headers
    assert await _count(client) == 2


async def test_a_request_failing_validation_reserves_nothing(client: httpx.AsyncClient) -> None:
    invalid = await client.post("/api/v1/items", json={"name": ""}, headers=KEY)
    assert invalid.status_code == 422
    assert _code(invalid) == "VALIDATION_ERROR"
    valid = await client.post("/api/v1/items", json={"name": "a"}, headers=KEY)
    assert valid.status_code == 201
    assert "idempotent-replayed" not in valid.headers


async def test_a_raising_handler_reserves_nothing_and_keeps_no_write(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(2):
        refused = await client.post("/api/v1/items/explode", json={"name": "a"}, headers=KEY)
        assert refused.status_code == 409
        assert _code(refused) == "CONFLICT"  # run again, not a replayed or in-use answer
        assert "idempotent-replayed" not in refused.headers
    assert await _count(client) == 0


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"   ",
        b'""',
        b"a" * (MAX_KEY_LENGTH + 1),
        b'"' + b"a" * (MAX_KEY_LENGTH + 1) + b'"',
        b"caf\xc3\xa9",
        b"a\x01b",
        b"a\tb",
        b'"unterminated',
        b'"bad \\n escape"',
    ],
)
async def test_a_bad_key_is_400_and_writes_nothing(client: httpx.AsyncClient, value: bytes) -> None:
    response = await client.post(
        "/api/v1/items", json={"name": "a"}, headers=[(b"Idempotency-Key", value)]
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_IDEMPOTENCY_KEY"
    assert error["message"] == "The Idempotency-Key must be 1 to 255 printable ASCII characters."
    assert error["details"] == {"max_length": MAX_KEY_LENGTH}
    assert await _count(client) == 0


async def test_a_key_with_inner_spaces_is_one_key_in_either_form(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post(
        "/api/v1/items", json={"name": "a"}, headers={"Idempotency-Key": "order 42"}
    )
    again = await client.post(
        "/api/v1/items", json={"name": "a"}, headers={"Idempotency-Key": '"order 42"'}
    )
    assert first.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(client) == 1


async def test_the_documented_key_pattern_is_what_the_server_accepts(
    client: httpx.AsyncClient, app_settings: BastionSettings
) -> None:
    """A schema-driven client generates keys from the pattern: each must be accepted, and
    each value the server refuses must fall outside it."""
    document = idempotent_app(app_settings).openapi()
    parameters = document["paths"]["/api/v1/items"]["post"]["parameters"]
    (schema,) = [p["schema"] for p in parameters if p["name"] == "Idempotency-Key"]
    pattern = re.compile(schema["pattern"])
    accepted = [
        "k",
        "order 42",
        '"order 42"',
        '" spaced "',
        '"a\\"b"',
        'a"b',
        "~" * MAX_KEY_LENGTH,
        '"' + "k" * MAX_KEY_LENGTH + '"',
        '"' + '\\"' * MAX_KEY_LENGTH + '"',
    ]
    for value in accepted:
        assert pattern.fullmatch(value), value
        response = await client.post(
            "/api/v1/items", json={"name": "a"}, headers={"Idempotency-Key": value}
        )
        assert response.status_code == 201, (value, response.text)
    refused = ["", '""', '"', "k" * (MAX_KEY_LENGTH + 1), '"' + "k" * 256 + '"', "a\tb"]
    refused += ['"unterminated', '"bad \\n escape"', "caf\u00e9", " lead", "trail "]
    for value in refused:
        assert not pattern.fullmatch(value), value


async def test_two_key_headers_are_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/items",
        json={"name": "a"},
        headers=[(b"Idempotency-Key", b"one"), (b"Idempotency-Key", b"two")],
    )
    assert _code(response) == "INVALID_IDEMPOTENCY_KEY"


async def test_the_longest_key_is_accepted(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "k" * MAX_KEY_LENGTH}
    first = await client.post("/api/v1/items", json={"name": "a"}, headers=headers)
    again = await client.post("/api/v1/items", json={"name": "a"}, headers=headers)
    assert first.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"


async def test_a_streamed_answer_cannot_be_stored(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/items/stream", headers=KEY)
    assert response.status_code == 500
    assert _code(response) == "INTERNAL_ERROR"
