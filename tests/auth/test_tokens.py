"""Access tokens, refresh rotation, reuse detection, logout and the token attacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import anyio
import httpx
import jwt
import pytest
from pydantic import SecretStr

from bastion.security import derive_key
from tests.auth.conftest import AppFactory, AuthApp, bearer, register, tokens
from tests.conftest import TEST_SECRET, serve

Client = tuple[AuthApp, httpx.AsyncClient]
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/auth/me"


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": token})


def _code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_no_token_is_not_authenticated_with_a_bearer_challenge(auth: Client) -> None:
    _, client = auth
    response = await client.get(ME)
    assert response.status_code == 401
    assert _code(response) == "NOT_AUTHENTICATED"
    assert response.headers["www-authenticate"] == "Bearer"
    basic = await client.get(ME, headers={"Authorization": "Basic abc"})
    assert _code(basic) == "NOT_AUTHENTICATED"


async def test_refresh_rotates_and_the_new_pair_works(auth: Client) -> None:
    _, client = auth
    await register(client)
    first = await tokens(client)
    response = await _refresh(client, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get(ME, headers=bearer(second["access_token"]))).status_code == 200
    third = await _refresh(client, second["refresh_token"])
    assert third.status_code == 200


async def test_reusing_a_spent_refresh_token_revokes_the_family(auth: Client) -> None:
    built, client = auth
    await register(client)
    first = await tokens(client)
    second = (await _refresh(client, first["refresh_token"])).json()
    reuse = await _refresh(client, first["refresh_token"])
    assert reuse.status_code == 401
    assert _code(reuse) == "TOKEN_REUSED"
    assert "token_reuse" in built.hooks.names()
    newest_access = await client.get(ME, headers=bearer(second["access_token"]))
    assert newest_access.status_code == 401
    assert _code(newest_access) == "INVALID_TOKEN"
    newest_refresh = await _refresh(client, second["refresh_token"])
    assert newest_refresh.status_code == 401


async def test_every_login_is_a_new_family_untouched_by_another_familys_reuse(
    auth: Client,
) -> None:
    _, client = auth
    await register(client)
    laptop = await tokens(client)
    phone = await tokens(client)
    await _refresh(client, laptop["refresh_token"])
    await _refresh(client, laptop["refresh_token"])  # reuse: the laptop family dies
    assert (await client.get(ME, headers=bearer(phone["access_token"]))).status_code == 200
    assert (await _refresh(client, phone["refresh_token"])).status_code == 200


async def test_concurrent_refreshes_of_one_token_let_exactly_one_through(auth: Client) -> None:
    _, client = auth
    await register(client)
    pair = await tokens(client)
    results: list[httpx.Response] = []

    async def attempt() -> None:
        results.append(await _refresh(client, pair["refresh_token"]))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(attempt)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 401, 401, 401, 401]
    for response in results:
        if response.status_code == 401:
            assert _code(response) in {"TOKEN_REUSED", "INVALID_TOKEN"}


@pytest.mark.parametrize(
    "token", ["garbage", "x" * 43, "", "a" * 5000], ids=["garbage", "random", "empty", "huge"]
)
async def test_garbage_refresh_tokens_are_invalid(auth: Client, token: str) -> None:
    _, client = auth
    response = await _refresh(client, token)
    assert response.status_code in {401, 422}
    if response.status_code == 401:
        assert _code(response) == "INVALID_TOKEN"


async def test_expired_refresh_token_is_invalid_not_reused(auth: Client) -> None:
    built, client = auth
    await register(client)
    pair = await tokens(client)
    built.clock.advance(built.settings.refresh_token_ttl + 1)
    response = await _refresh(client, pair["refresh_token"])
    assert _code(response) == "INVALID_TOKEN"


async def test_family_has_an_absolute_lifetime(make_app: AppFactory) -> None:
    built = make_app(refresh_token_ttl=1000, refresh_token_absolute_ttl=2500)
    async with serve(built.app) as client:
        await register(client)
        token = (await tokens(client))["refresh_token"]
        for _ in range(2):
            built.clock.advance(900)
            response = await _refresh(client, token)
            assert response.status_code == 200
            token = response.json()["refresh_token"]
        built.clock.advance(800)  # 2600 s after login: past the absolute lifetime
        response = await _refresh(client, token)
    assert _code(response) == "INVALID_TOKEN"


async def test_logout_ends_that_session_only(auth: Client) -> None:
    built, client = auth
    await register(client)
    laptop = await tokens(client)
    phone = await tokens(client)
    response = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": laptop["refresh_token"]}
    )
    assert response.status_code == 204
    assert response.headers["cache-control"] == "no-store"
    assert _code(await client.get(ME, headers=bearer(laptop["access_token"]))) == "INVALID_TOKEN"
    revoked = await _refresh(client, laptop["refresh_token"])
    assert _code(revoked) == "INVALID_TOKEN"
    assert (await client.get(ME, headers=bearer(phone["access_token"]))).status_code == 200
    assert "logout" in built.hooks.names()
    unknown = await client.post("/api/v1/auth/logout", json={"refresh_token": "nope"})
    assert _code(unknown) == "INVALID_TOKEN"
    missing = await client.post("/api/v1/auth/logout")
    assert _code(missing) == "NOT_AUTHENTICATED"


async def test_stateless_mode_skips_the_session_check(make_app: AppFactory) -> None:
    built = make_app(auth_stateless_tokens=True)
    async with serve(built.app) as client:
        await register(client)
        pair = await tokens(client)
        await client.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})
        response = await client.get("/api/v1/private", headers=bearer(pair["access_token"]))
    assert response.status_code == 200  # the documented trade-off: valid until it expires


def _segments(token: str) -> list[str]:
    return token.split(".")


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _forge(header: dict[str, object], payload: dict[str, object], key: bytes | str) -> str:
    return jwt.encode(payload, key, algorithm="HS256", headers=header)


def _claims(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return claims


@pytest.mark.parametrize(
    "attack",
    [
        "alg_none",
        "empty_key",
        "guessed_key",
        "flipped_byte",
        "expired",
        "not_yet_valid",
        "wrong_aud",
        "wrong_iss",
        "wrong_typ",
        "refresh_as_access",
        "unknown_kid",
    ],
)
async def test_forged_or_misused_tokens_are_invalid(auth: Client, attack: str) -> None:
    built, client = auth
    await register(client)
    pair = await tokens(client)
    access = pair["access_token"]
    claims = _claims(access)
    header = {"typ": "at+jwt", "kid": "default"}
    real_key = derive_key(TEST_SECRET, "jwt")
    if attack == "alg_none":
        token = f"{_b64({'alg': 'none', 'typ': 'at+jwt', 'kid': 'default'})}.{_b64(claims)}."
    elif attack == "empty_key":
        signing_input = f"{_b64({'alg': 'HS256', **header})}.{_b64(claims)}"
        mac = hmac.new(b"", signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    elif attack == "guessed_key":
        token = _forge(header, claims, TEST_SECRET)
    elif attack == "flipped_byte":
        head, body, sig = _segments(access)
        raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        raw[10] ^= 0x01
        token = f"{head}.{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}.{sig}"
    elif attack == "expired":
        built.clock.advance(901)
        token = access
    elif attack == "not_yet_valid":
        token = _forge(header, {**claims, "nbf": int(built.clock.now) + 600}, real_key)
    elif attack == "wrong_aud":
        token = _forge(header, {**claims, "aud": "someone-else"}, real_key)
    elif attack == "wrong_iss":
        token = _forge(header, {**claims, "iss": "someone-else"}, real_key)
    elif attack == "wrong_typ":
        token = _forge({**header, "typ": "JWT"}, claims, real_key)
    elif attack == "unknown_kid":
        token = _forge({**header, "kid": "other"}, claims, real_key)
    else:
        token = pair["refresh_token"]
    response = await client.get(ME, headers=bearer(token))
    assert response.status_code == 401
    assert _code(response) == "INVALID_TOKEN"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_an_access_token_verifies_with_pyjwt_and_the_configured_hs_key(
    make_app: AppFactory,
) -> None:
    shared = "a key another service verifies our tokens with"
    built = make_app(jwt_signing_key=SecretStr(shared))
    async with serve(built.app) as client:
        await register(client)
        access = (await tokens(client))["access_token"]
    claims = jwt.decode(
        access,
        shared,
        algorithms=["HS256"],
        audience=built.settings.app_name,
        issuer=built.settings.app_name,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert claims["roles"] == []
