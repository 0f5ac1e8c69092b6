"""Cookie mode with CSRF, and the router factory's options."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, Depends

from bastion import create_app
from bastion.auth import AUTH_ROUTES, Auth, CurrentUser, UserCreate, UserOut
from bastion.ratelimit import RateLimit
from tests.auth.conftest import (
    PASSWORD,
    AppFactory,
    Clock,
    create_tables,
    fast_settings,
    login,
    register,
    serve_https,
)
from tests.auth.models import MODELS
from tests.conftest import serve


def _code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_cookie_mode_sets_host_cookies_and_requires_csrf(make_app: AppFactory) -> None:
    built = make_app(auth_cookie_mode=True)
    async with serve_https(built.app) as client:
        await register(client)
        response = await login(client)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"token_type", "expires_in", "csrf_token"}
        cookies = response.headers.get_list("set-cookie")
        access = next(c for c in cookies if c.startswith("__Host-access_token="))
        refresh = next(c for c in cookies if c.startswith("__Secure-refresh_token="))
        for cookie in (access, refresh):
            assert "HttpOnly" in cookie
            assert "Secure" in cookie
            assert "samesite=lax" in cookie.lower()
            assert "Domain" not in cookie
        assert "Path=/;" in access or access.endswith("Path=/")
        assert "Path=/api/v1/auth;" in refresh  # sent to /refresh and /logout, no further
        csrf = body["csrf_token"]
        assert (await client.get("/api/v1/auth/me")).status_code == 200
        missing = await client.post("/api/v1/private")
        assert missing.status_code == 403
        assert _code(missing) == "CSRF_FAILED"
        wrong = await client.post("/api/v1/private", headers={"X-CSRF-Token": csrf[:-2] + "xx"})
        assert _code(wrong) == "CSRF_FAILED"
        ok = await client.post("/api/v1/private", headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 200
        no_csrf_refresh = await client.post("/api/v1/auth/refresh")
        assert _code(no_csrf_refresh) == "CSRF_FAILED"
        refreshed = await client.post("/api/v1/auth/refresh", headers={"X-CSRF-Token": csrf})
        assert refreshed.status_code == 200
        new_csrf = refreshed.json()["csrf_token"]
        bad_logout = await client.post("/api/v1/auth/logout")
        assert _code(bad_logout) == "CSRF_FAILED"
        out = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": new_csrf})
        assert out.status_code == 204
        assert (await client.get("/api/v1/auth/me")).status_code == 401


def _plant_refresh_cookie(client: httpx.AsyncClient, value: str) -> None:
    """Put `value` in place of the client's refresh cookie (as a sibling subdomain could)."""
    client.cookies.set(
        "__Secure-refresh_token",
        value,
        domain="testserver.local",  # where httpx keeps the app's host-only cookies
        path="/api/v1/auth",
    )


async def test_logout_after_the_access_cookie_expired_ends_the_session(
    make_app: AppFactory,
) -> None:
    # The browser drops the access cookie after its 15 minutes; the session lives on
    # in the refresh cookie, which /logout receives too.
    built = make_app(auth_cookie_mode=True)
    async with serve_https(built.app) as client:
        await register(client)
        csrf = (await login(client)).json()["csrf_token"]
        refresh_token = client.cookies.get("__Secure-refresh_token")
        assert refresh_token is not None
        client.cookies.delete("__Host-access_token")
        forged = await client.post("/api/v1/auth/logout")
        assert _code(forged) == "CSRF_FAILED"
        out = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 204, out.text
        cleared = out.headers.get_list("set-cookie")
        assert any(
            c.startswith("__Secure-refresh_token=") and "Path=/api/v1/auth" in c for c in cleared
        )
        again = await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
        assert again.status_code == 401  # the session is over, not just forgotten


async def test_logout_with_a_refresh_cookie_naming_no_session_uses_the_access_cookie(
    make_app: AppFactory,
) -> None:
    built = make_app(auth_cookie_mode=True)
    async with serve_https(built.app) as client:
        await register(client)
        csrf = (await login(client)).json()["csrf_token"]
        _plant_refresh_cookie(client, "a-token-of-no-session")
        out = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 204, out.text
        assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_logout_ends_the_access_cookies_session_whatever_refresh_cookie_is_beside_it(
    make_app: AppFactory,
) -> None:
    # A `__Secure-` cookie can be planted from a sibling subdomain, a `__Host-` one cannot:
    # another session's refresh cookie must not keep this one from logging out.
    built = make_app(auth_cookie_mode=True)
    async with (
        serve_https(built.app) as client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=built.app), base_url="https://testserver"
        ) as other,
    ):
        await register(client)
        csrf = (await login(client)).json()["csrf_token"]
        await login(other)
        planted = other.cookies.get("__Secure-refresh_token")
        assert planted is not None
        _plant_refresh_cookie(client, planted)
        out = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 204, out.text
        assert (await client.get("/api/v1/auth/me")).status_code == 401
        assert (await other.get("/api/v1/auth/me")).status_code == 200


async def test_bearer_requests_need_no_csrf_in_cookie_mode(make_app: AppFactory) -> None:
    built = make_app(auth_cookie_mode=True)
    async with serve_https(built.app) as client:
        await register(client)
        await login(client)
        access = client.cookies.get("__Host-access_token")
        assert access is not None
        client.cookies.clear()
        response = await client.post(
            "/api/v1/private", headers={"Authorization": f"Bearer {access}"}
        )
    assert response.status_code == 200


class ProfileOut(UserOut):
    """A host's user view with its own column."""

    display_name: str | None


class ProfileCreate(UserCreate):
    """A host's registration body with its own field."""

    display_name: str | None = None


async def test_router_options_prefix_schemas_disabled_routes_and_extra_dependencies(
    db_settings: object,
) -> None:
    from bastion.core import BastionSettings

    assert isinstance(db_settings, BastionSettings)
    router = Auth(
        **MODELS,
        user_schema=ProfileOut,
        user_create_schema=ProfileCreate,
        clock=Clock(),
        prefix="/account",
        disabled=("mfa_setup", "mfa_enable", "mfa_disable"),
        dependencies={"register": [Depends(RateLimit("1/minute", name="signup"))]},
    ).router
    app = create_app(fast_settings(db_settings), routers=[router], lifespan=create_tables)
    async with serve(app) as client:
        created = await client.post(
            "/api/v1/account/register",
            json={"email": "ada@example.com", "password": PASSWORD, "display_name": "Ada"},
        )
        assert created.status_code == 201
        assert created.json()["display_name"] == "Ada"
        limited = await client.post(
            "/api/v1/account/register", json={"email": "bob@example.com", "password": PASSWORD}
        )
        assert limited.status_code == 429
        assert (await client.post("/api/v1/account/mfa/setup")).status_code == 404
        paths = set((await client.get("/openapi.json")).json()["paths"])
    assert "/api/v1/account/login" in paths
    assert "/api/v1/account/mfa/enable" not in paths


def test_unknown_route_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown auth routes"):
        Auth(**MODELS, disabled=("nope",))  # type: ignore[arg-type]  # the point


async def test_every_auth_operation_documents_its_errors(make_app: AppFactory) -> None:
    built = make_app()
    async with serve(built.app) as client:
        schema = (await client.get("/openapi.json")).json()
    expected = {
        ("/api/v1/auth/register", "post"): {"201", "403", "409", "422"},
        ("/api/v1/auth/login", "post"): {"200", "401", "403", "422", "429"},
        ("/api/v1/auth/mfa/verify", "post"): {"200", "401", "403", "422", "429"},
        ("/api/v1/auth/refresh", "post"): {"200", "401", "403", "422"},
        ("/api/v1/auth/logout", "post"): {"204", "401", "403", "422"},
        ("/api/v1/auth/me", "get"): {"200", "401"},
        ("/api/v1/auth/password", "post"): {"204", "401", "403", "422", "429"},
        ("/api/v1/auth/mfa/setup", "post"): {"200", "401", "403", "409"},
        ("/api/v1/auth/mfa/enable", "post"): {"200", "401", "403", "409", "422", "429"},
        ("/api/v1/auth/mfa/disable", "post"): {"204", "401", "403", "409", "422", "429"},
    }
    assert len(expected) == len(AUTH_ROUTES)
    for (path, method), codes in expected.items():
        documented = set(schema["paths"][path][method]["responses"])
        assert codes <= documented, (path, codes - documented)
    login_body = schema["paths"]["/api/v1/auth/login"]["post"]["requestBody"]["content"]
    assert "application/x-www-form-urlencoded" in login_body


async def test_routes_without_an_auth_router_answer_503(db_settings: object) -> None:
    from bastion.core import BastionSettings

    assert isinstance(db_settings, BastionSettings)
    router = APIRouter()

    @router.get("/private")
    async def private(user: CurrentUser) -> dict[str, str]:
        return {"id": str(user.id)}

    app = create_app(fast_settings(db_settings), routers=[router])
    async with serve(app) as client:
        response = await client.get("/api/v1/private", headers={"Authorization": "Bearer x"})
    assert response.status_code == 503
