"""Login inputs are bounded before any hashing, and throttle keys never hold what was typed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from redis.asyncio import Redis

from bastion.auth import UserCreate
from bastion.security import PasswordHasher
from tests.auth.conftest import PASSWORD, AppFactory, bearer, login, register, tokens
from tests.auth.helpers import AUTH, WRONG
from tests.conftest import serve
from tests.edge import clear_redis_keys


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification that runs, by the hash it checked against."""
    calls: list[str] = []
    original = PasswordHasher._verify_sync

    def counting(self: PasswordHasher, password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return original(self, password_hash, password)

    monkeypatch.setattr(PasswordHasher, "_verify_sync", counting)
    return calls


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("a" * 309 + "@example.com", PASSWORD),  # 321 characters
        ("ada@example.com", "x" * 4097),
        ("ada@example.com", "é" * 2049),  # 2,049 characters, 4,098 bytes
    ],
)
async def test_overlong_login_fields_are_refused_before_any_hashing(
    make_app: AppFactory, verifications: list[str], username: str, password: str
) -> None:
    async with serve(make_app().app) as client:
        await register(client)
        verifications.clear()
        response = await login(client, username, password)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert verifications == []


async def test_login_fields_at_their_bounds_are_checked(
    make_app: AppFactory, verifications: list[str]
) -> None:
    async with serve(make_app().app) as client:
        at_bounds = [
            await login(client, "a" * 308 + "@example.com", PASSWORD),  # 320 characters
            await login(client, "ada@example.com", "é" * 2048),  # 4,096 bytes
        ]
    assert [r.status_code for r in at_bounds] == [401, 401]
    assert len(verifications) == 2


async def test_an_overlong_current_password_is_refused_before_any_hashing(
    make_app: AppFactory, verifications: list[str]
) -> None:
    async with serve(make_app().app) as client:
        await register(client)
        access = (await tokens(client))["access_token"]
        verifications.clear()
        response = await client.post(
            f"{AUTH}/password",
            json={"current_password": "€" * 1366, "new_password": "a brand new passphrase"},
            headers=bearer(access),
        )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert verifications == []


async def test_a_new_password_over_4096_bytes_is_weak_whatever_the_policy_maximum(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[str] = []
    original = PasswordHasher.hash

    async def counting(self: PasswordHasher, password: str, *, client: str | None = None) -> str:
        hashed.append(password)
        return await original(self, password, client=client)

    async with serve(make_app(password_max_length=10_000).app) as client:
        monkeypatch.setattr(PasswordHasher, "hash", counting)
        response = await client.post(
            f"{AUTH}/register", json={"email": "ada@example.com", "password": "é" * 2049}
        )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "WEAK_PASSWORD"
    assert response.json()["error"]["details"]["reasons"] == ["too_long"]
    assert hashed == []


@pytest.mark.parametrize("storage", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def test_throttle_keys_hold_a_hash_of_the_account_never_its_text(
    make_app: AppFactory, storage: str, request: pytest.FixtureRequest
) -> None:
    url: str | None = request.getfixturevalue("redis_url") if storage == "redis" else None
    built = make_app(**({"ratelimit_storage_url": url} if url else {}))
    typed = "Some.Body+tag@Example.com"
    prefix = built.settings.ratelimit_key_prefix
    try:
        async with serve(built.app) as client:
            await login(client, typed, WRONG)
            await login(client, "ghost@example.com", WRONG)
            if url is None:
                limiter = built.app.state.resources.limiter
                storage_ = limiter.storage
                windows = limiter.window.windows if limiter.window is not None else {}
                keys = [*storage_.events, *storage_.storage, *windows]
            else:
                redis = Redis.from_url(url)
                try:
                    found = [k async for k in redis.scan_iter(match=f"*{prefix}*", count=500)]
                    keys = [key.decode() for key in found]
                finally:
                    await redis.aclose()
    finally:
        if url is not None:
            await clear_redis_keys(url, prefix)
    assert keys, "the failures were counted somewhere"
    for key in keys:
        assert "body" not in key.lower()
        assert "ghost" not in key
        assert "example.com" not in key.lower()
        assert len(key) < 200


@pytest.mark.parametrize("password", ["Correct-Horse-\ud800-Battery", "\udfff" * 12])
def test_a_lone_surrogate_in_a_new_password_is_a_validation_error_not_a_hash(
    password: str,
) -> None:
    # The edge layers refuse one in a JSON body; this holds for any other way in.
    with pytest.raises(ValidationError, match="no lone surrogates"):
        UserCreate.model_validate({"email": "ada@example.com", "password": password})
