"""The rate-limiting docs snippet runs as documented."""

from __future__ import annotations

from tests.edge import edge_settings, serve_as
from tests.snippets import load_snippet


async def test_failed_logins_are_throttled_per_account_and_auth_shares_a_budget() -> None:
    app = load_snippet("rate_limits").create_limited_app(edge_settings())
    wrong = {"email": "Ann@example.com", "password": "guess"}
    async with serve_as(app) as client:
        failures = [(await client.post("/api/v1/auth/login", json=wrong)).json() for _ in range(5)]
        locked = await client.post("/api/v1/auth/login", json=wrong | {"password": "correct horse"})
        key = {"x-api-key": "ann"}
        exports = [
            (await client.post("/api/v1/notes/export", headers=key)).status_code for _ in range(3)
        ]
        other = await client.post("/api/v1/notes/export", headers={"x-api-key": "bob"})
        anonymous = await client.post("/api/v1/notes/export")
        auth_budget = await client.post("/api/v1/auth/login", json=wrong)
    assert failures == [{"status": "denied"}] * 5
    assert locked.status_code == 429
    assert exports == [200, 200, 429]
    assert other.status_code == 200  # counted per user, not per IP
    assert anonymous.status_code == 401
    assert auth_budget.headers["ratelimit-policy"].startswith('"auth";q=10')


async def test_a_successful_login_forgets_earlier_failures() -> None:
    app = load_snippet("rate_limits").create_limited_app(edge_settings())
    async with serve_as(app) as client:
        for _ in range(4):
            await client.post("/api/v1/auth/login", json={"email": "b@x.io", "password": "no"})
        ok = await client.post(
            "/api/v1/auth/login", json={"email": "b@x.io", "password": "correct horse"}
        )
        limiter = app.state.resources.limiter
        after = await limiter.peek("5/15 minutes", "login-failures", "b@x.io")
    assert ok.json() == {"status": "ok"}
    assert after.remaining == 5
