"""Registration, login, `/me` and the credential errors."""

from __future__ import annotations

import httpx
import pytest

from bastion.security import PasswordHasher
from tests.auth.conftest import PASSWORD, AppFactory, AuthApp, bearer, login, register, tokens
from tests.conftest import serve

Client = tuple[AuthApp, httpx.AsyncClient]


async def test_register_returns_the_public_user_only(auth: Client) -> None:
    _, client = auth
    response = await client.post(
        "/api/v1/auth/register", json={"email": "  Ada@Example.COM ", "password": PASSWORD}
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "is_active", "mfa_enabled", "roles", "created_at"}
    assert body["email"] == "ada@example.com"
    assert body["is_active"] is True
    assert body["mfa_enabled"] is False
    assert body["roles"] == []
    assert response.headers["cache-control"] == "no-store"


async def test_duplicate_email_is_email_taken_whatever_its_case(auth: Client) -> None:
    _, client = auth
    await register(client)
    response = await client.post(
        "/api/v1/auth/register", json={"email": "ADA@example.com", "password": PASSWORD}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "EMAIL_TAKEN"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "too_short"),
        ("", "too_short"),
        ("x" * 129, "too_long"),
        ("correct horse " * 700, "too_long"),
        ("password1234", "common"),
        ("ada-is-my-secret-word", "contains_email"),
    ],
)
async def test_weak_passwords_are_refused_with_reasons(
    auth: Client, password: str, reason: str
) -> None:
    _, client = auth
    response = await client.post(
        "/api/v1/auth/register", json={"email": "ada@example.com", "password": password}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "WEAK_PASSWORD"
    assert reason in error["details"]["reasons"]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": PASSWORD},
        {"email": "ada lovelace@example.com", "password": PASSWORD},
        {"email": "ada\x1c@example.com", "password": PASSWORD},
        {"email": "ada@example", "password": PASSWORD},
        {"email": "ada@example.com"},
        {"email": "ada@example.com", "password": PASSWORD, "is_admin": True},
        {"email": "ada@example.com", "password": PASSWORD, "roles": ["admin"]},
    ],
)
async def test_malformed_or_extra_registration_fields_are_validation_errors(
    auth: Client, body: dict[str, object]
) -> None:
    _, client = auth
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert PASSWORD not in response.text


async def test_login_returns_a_bearer_pair_and_me_works(auth: Client) -> None:
    built, client = auth
    user = await register(client)
    response = await login(client, " ADA@example.com ")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert len(body["refresh_token"]) >= 43  # 256 bits, base64url
    assert response.headers["cache-control"] == "no-store"
    me = await client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json() == user
    assert me.headers["cache-control"] == "no-store"
    assert built.hooks.names() == ["register", "login"]


@pytest.mark.parametrize(
    "form",
    [{"username": "", "password": PASSWORD}, {"username": "ada@example.com", "password": ""}],
    ids=["empty-username", "empty-password"],
)
async def test_empty_login_fields_are_validation_errors_as_the_schema_says(
    auth: Client, form: dict[str, str]
) -> None:
    built, client = auth
    response = await client.post("/api/v1/auth/login", data=form)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    schema = built.app.openapi()["components"]["schemas"]
    login_form = next(v for k, v in schema.items() if k.startswith("Body_") and "login" in k)
    assert login_form["properties"]["username"]["minLength"] == 1
    assert login_form["properties"]["password"]["minLength"] == 1
    assert set(login_form["required"]) == {"username", "password"}


async def test_wrong_password_unknown_email_and_inactive_user_look_the_same(
    make_app: AppFactory,
) -> None:
    built = make_app()
    async with serve(built.app) as client:
        await register(client)
        await register(client, "bob@example.com")
        await _deactivate(built, "bob@example.com")
        wrong = await login(client, "ada@example.com", "not the right password")
        unknown = await login(client, "nobody@example.com")
        inactive = await login(client, "bob@example.com")
    bodies = []
    for response in (wrong, unknown, inactive):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        error = response.json()["error"]
        error.pop("request_id")
        bodies.append(error)
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0]["code"] == "INVALID_CREDENTIALS"
    assert ("failed_login", "nobody@example.com") in built.hooks.events


async def _deactivate(built: AuthApp, email: str) -> None:
    from bastion.db import UnitOfWork

    resources = built.app.state.resources
    async with UnitOfWork(resources.sessionmaker) as uow:
        service = resources.auth.accounts(uow, resources.limiter)
        user = await service.repo.user_by_email(email)
        assert user is not None
        await service.set_active(user.id, active=False)


async def test_deactivation_stops_existing_tokens(make_app: AppFactory) -> None:
    built = make_app()
    async with serve(built.app) as client:
        await register(client)
        pair = await tokens(client)
        await _deactivate(built, "ada@example.com")
        me = await client.get("/api/v1/auth/me", headers=bearer(pair["access_token"]))
        refreshed = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        )
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "INVALID_TOKEN"
    assert refreshed.status_code == 401
    assert refreshed.json()["error"]["code"] == "INVALID_TOKEN"


async def test_every_failed_login_costs_exactly_one_verification(
    auth: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    built, client = auth
    await register(client)
    await register(client, "bob@example.com")
    await _deactivate(built, "bob@example.com")
    calls: list[str] = []
    original = PasswordHasher._verify_sync

    def counting(self: PasswordHasher, password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return original(self, password_hash, password)

    monkeypatch.setattr(PasswordHasher, "_verify_sync", counting)
    for email, password in [
        ("nobody@example.com", PASSWORD),
        ("ada@example.com", "a wrong password here"),
        ("bob@example.com", PASSWORD),
        ("ada@example.com", PASSWORD),
    ]:
        calls.clear()
        await login(client, email, password)
        assert len(calls) == 1, email


async def test_long_passwords_differing_after_byte_72_do_not_verify_each_other(
    auth: Client,
) -> None:
    _, client = auth
    first = "a long passphrase that goes on and on " * 2 + "ending one"
    second = "a long passphrase that goes on and on " * 2 + "ending two"
    assert first[:72] == second[:72]
    response = await client.post(
        "/api/v1/auth/register", json={"email": "ada@example.com", "password": first}
    )
    assert response.status_code == 201
    assert (await login(client, "ada@example.com", second)).status_code == 401
    assert (await login(client, "ada@example.com", first)).status_code == 200


async def test_extra_fields_of_a_host_user_model_are_stored(auth: Client) -> None:
    built, client = auth
    await register(client)
    from bastion.db import UnitOfWork

    resources = built.app.state.resources
    async with UnitOfWork(resources.sessionmaker) as uow:
        service = resources.auth.accounts(uow, resources.limiter)
        record = await service.create_user(
            "carol@example.com", PASSWORD, roles=["admin"], extra={"display_name": "Carol"}
        )
        entity = await service.repo.user_entity(record.id)
    assert getattr(entity, "display_name", None) == "Carol"
    assert record.roles == ["admin"]


async def test_create_user_and_grant_role_return_the_public_user_after_the_change(
    auth: Client,
) -> None:
    from bastion.auth import UserOut
    from bastion.db import UnitOfWork

    built, _ = auth
    resources = built.app.state.resources
    async with UnitOfWork(resources.sessionmaker) as uow:
        service = resources.auth.accounts(uow, resources.limiter)
        created = await service.create_user("carol@example.com", PASSWORD, roles=["editor"])
        granted = await service.grant_role("Carol@Example.com", "admin")
        again = await service.grant_role("carol@example.com", "admin")
    public = {"id", "email", "is_active", "mfa_enabled", "roles", "created_at"}
    for user in (created, granted, again):
        assert isinstance(user, UserOut)
        assert set(user.model_dump()) == public
        assert not hasattr(user, "password_hash")
        assert not hasattr(user, "totp_secret_encrypted")
    assert created.roles == ["editor"]
    assert granted.roles == again.roles == ["editor", "admin"]


async def test_login_rehashes_a_password_hashed_with_old_parameters(
    make_app: AppFactory,
) -> None:
    old = make_app()
    async with serve(old.app) as client:
        await register(client)
    new = make_app(password_hash_time_cost=2)
    async with serve(new.app) as client:
        assert (await login(client)).status_code == 200
        from bastion.db import UnitOfWork

        resources = new.app.state.resources
        async with UnitOfWork(resources.sessionmaker) as uow:
            service = resources.auth.accounts(uow, resources.limiter)
            user = await service.repo.user_by_email("ada@example.com")
        assert user is not None
        assert ",t=2," in user.password_hash
        assert (await login(client)).status_code == 200


async def test_a_rehash_never_overwrites_a_password_changed_since_it_was_verified(
    make_app: AppFactory,
) -> None:
    # Login verifies, then rehashes in a later transaction: a password changed in
    # between must win, and the login must not issue a session (it answers 401).
    from bastion.db import UnitOfWork

    built = make_app()
    async with serve(built.app) as client:
        await register(client)
        resources = built.app.state.resources
        async with UnitOfWork(resources.sessionmaker) as uow:
            repo = resources.auth.accounts(uow, resources.limiter).repo
            user = await repo.user_by_email("ada@example.com")
            assert user is not None
            now = resources.auth.now()
            stale = await repo.rehash_password(user.id, "a hash replaced meanwhile", "x", now)
            current = await repo.user_by_id(user.id)
    assert stale is False
    assert current is not None
    assert current.password_hash == user.password_hash
