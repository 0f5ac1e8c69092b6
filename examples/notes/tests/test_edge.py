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
