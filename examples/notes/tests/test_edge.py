"""The notes app runs behind the full edge stack, and auth routes get their own limit."""

from __future__ import annotations

import httpx
from fastapi import APIRouter

from bastion import create_app
from notes_app.config import NotesSettings
from notes_app.limits import strict_auth
from notes_app.main import create_notes_app

SECRET = "notes-test-secret-key-that-is-long-enough-0123"  # a test-only key


def _settings(**overrides: object) -> NotesSettings:
    return NotesSettings(
        environment="test",
        secret_key=SECRET,
        configure_logging=False,
        **overrides,  # type: ignore[arg-type]
    )


async def test_the_notes_app_serves_behind_the_edge_stack() -> None:
    app = create_notes_app(_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get("/health")
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "server" not in response.headers


async def test_the_notes_list_with_a_trailing_slash_is_a_404_never_a_redirect_to_the_host() -> None:
    app = create_notes_app(_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get("/api/v1/notes/", headers={"Host": "evil.example"})
    assert response.status_code == 404
    assert "location" not in response.headers


async def test_auth_routes_get_a_stricter_shared_limit() -> None:
    auth = APIRouter(prefix="/auth")  # stands in for the auth router factory

    @auth.post("/login")
    async def login() -> dict[str, bool]:
        return {"ok": True}

    settings = _settings(auth_rate_limit="2/minute")
    app = create_app(settings, routers=[strict_auth(auth, settings)])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            statuses = [(await client.post("/api/v1/auth/login")).status_code for _ in range(3)]
            last = await client.post("/api/v1/auth/login")
    assert statuses == [200, 200, 429]
    assert last.headers["ratelimit-policy"] == '"auth";q=2;w=60'


async def test_a_client_exercising_the_auth_flow_is_not_throttled_by_the_ip_budgets(
    client: httpx.AsyncClient,
) -> None:
    # Many accounts from one address (a test suite, an office NAT): only the
    # per-account login throttle bites, after five failures of one account.
    password = "a long enough passphrase 42"
    for n in range(12):
        email = f"user{n}@example.com"
        created = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": password}
        )
        assert created.status_code == 201
        ok = await client.post("/api/v1/auth/login", data={"username": email, "password": password})
        assert ok.status_code == 200
    failures = [
        (
            await client.post(
                "/api/v1/auth/login",
                data={"username": "user0@example.com", "password": "wrong one"},
            )
        ).status_code
        for _ in range(6)
    ]
    assert failures == [401] * 5 + [429]
    other = await client.post(
        "/api/v1/auth/login", data={"username": "user1@example.com", "password": "wrong one"}
    )
    assert other.status_code == 401
    # Registration draws on the shared auth budget: it reports that, the tightest limit.
    registered = await client.post(
        "/api/v1/auth/register", json={"email": "last@example.com", "password": password}
    )
    assert registered.headers["ratelimit-limit"] == "300"
