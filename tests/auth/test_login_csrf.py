"""Login CSRF: in cookie mode, another site cannot start a session in the user's browser."""

from __future__ import annotations

import httpx
import pytest

from tests.auth.conftest import PASSWORD, AppFactory, register, serve_https
from tests.auth.test_mfa import _totp
from tests.conftest import serve

AUTH = "/api/v1/auth"
APP_ORIGIN = "https://app.example.com"

CROSS_SITE = [
    pytest.param({"Sec-Fetch-Site": "cross-site"}, id="fetch-metadata"),
    pytest.param(
        {"Sec-Fetch-Site": "cross-site", "Origin": APP_ORIGIN}, id="allowed-but-cross-site"
    ),
    pytest.param({"Origin": "https://evil.example"}, id="foreign-origin"),
    pytest.param({"Origin": "null"}, id="opaque-origin"),
    pytest.param({"Origin": "http://testserver"}, id="own-host-over-plain-http"),
    pytest.param({"Origin": "https://testserver.evil.example"}, id="look-alike"),
]
SAME_SITE = [
    pytest.param({}, id="no-browser-headers"),
    pytest.param({"Origin": "https://testserver", "Sec-Fetch-Site": "same-origin"}, id="own"),
    pytest.param({"Origin": "HTTPS://TestServer"}, id="own-any-case"),
    pytest.param({"Origin": APP_ORIGIN, "Sec-Fetch-Site": "same-site"}, id="allow-listed"),
    pytest.param({"Sec-Fetch-Site": "none"}, id="typed-by-the-user"),
]


def _code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def _settings() -> dict[str, object]:
    return {"auth_cookie_mode": True, "cors_allow_origins": [APP_ORIGIN, "*"]}


@pytest.mark.parametrize("headers", CROSS_SITE)
async def test_a_cross_site_login_or_registration_is_refused_without_cookies(
    make_app: AppFactory, headers: dict[str, str]
) -> None:
    built = make_app(**_settings())
    async with serve_https(built.app) as client:
        await register(client)
        login = await client.post(
            f"{AUTH}/login",
            data={"username": "ada@example.com", "password": PASSWORD},
            headers=headers,
        )
        signup = await client.post(
            f"{AUTH}/register",
            json={"email": "bob@example.com", "password": PASSWORD},
            headers=headers,
        )
        bob = await client.post(
            f"{AUTH}/login", data={"username": "bob@example.com", "password": PASSWORD}
        )
    for response in (login, signup):
        assert response.status_code == 403, response.text
        assert _code(response) == "CSRF_FAILED"
        assert "set-cookie" not in response.headers
    assert bob.status_code == 401  # the refused registration created nothing
    assert ("login", "ada@example.com") not in built.hooks.events


@pytest.mark.parametrize("headers", SAME_SITE)
async def test_a_same_site_or_allow_listed_login_sets_the_cookies(
    make_app: AppFactory, headers: dict[str, str]
) -> None:
    built = make_app(**_settings())
    async with serve_https(built.app) as client:
        signup = await client.post(
            f"{AUTH}/register",
            json={"email": "ada@example.com", "password": PASSWORD},
            headers=headers,
        )
        login = await client.post(
            f"{AUTH}/login",
            data={"username": "ada@example.com", "password": PASSWORD},
            headers=headers,
        )
    assert signup.status_code == 201, signup.text
    assert login.status_code == 200, login.text
    assert login.headers.get_list("set-cookie")


async def test_behind_a_tls_proxy_the_own_https_origin_is_same_site(
    make_app: AppFactory,
) -> None:
    built = make_app(auth_cookie_mode=True)
    async with serve(built.app) as client:  # http:// to the app, https:// in the browser
        signup = await client.post(
            f"{AUTH}/register",
            json={"email": "ada@example.com", "password": PASSWORD},
            headers={"Origin": "https://testserver"},
        )
    assert signup.status_code == 201, signup.text


async def test_a_cross_site_second_factor_is_refused(make_app: AppFactory) -> None:
    built = make_app(**_settings())
    async with serve_https(built.app) as client:
        await register(client)
        await client.post(
            f"{AUTH}/login", data={"username": "ada@example.com", "password": PASSWORD}
        )
        access = {"Authorization": f"Bearer {client.cookies['__Host-access_token']}"}
        client.cookies.clear()
        secret = (await client.post(f"{AUTH}/mfa/setup", headers=access)).json()["secret"]
        enabled = await client.post(
            f"{AUTH}/mfa/enable", json={"code": _totp(built, secret)}, headers=access
        )
        assert enabled.status_code == 200, enabled.text
        built.clock.advance(30)  # the enabling code's step is spent
        login = await client.post(
            f"{AUTH}/login", data={"username": "ada@example.com", "password": PASSWORD}
        )
        mfa_token = login.json()["mfa_token"]
        body = {"mfa_token": mfa_token, "code": _totp(built, secret)}
        refused = await client.post(
            f"{AUTH}/mfa/verify", json=body, headers={"Origin": "https://evil.example"}
        )
        assert refused.status_code == 403
        assert _code(refused) == "CSRF_FAILED"
        assert "set-cookie" not in refused.headers
        ok = await client.post(f"{AUTH}/mfa/verify", json=body)
    assert ok.status_code == 200, ok.text  # the refusal spent neither the code nor the token


async def test_bearer_mode_sets_no_cookie_and_checks_no_origin(make_app: AppFactory) -> None:
    built = make_app()
    async with serve(built.app) as client:
        await register(client)
        response = await client.post(
            f"{AUTH}/login",
            data={"username": "ada@example.com", "password": PASSWORD},
            headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        )
    assert response.status_code == 200
    assert "set-cookie" not in response.headers


async def test_an_allow_listed_front_end_may_send_the_csrf_token_cross_origin(
    make_app: AppFactory,
) -> None:
    built = make_app(
        auth_cookie_mode=True, cors_allow_origins=[APP_ORIGIN], cors_allow_credentials=True
    )
    cross = {"Origin": APP_ORIGIN, "Sec-Fetch-Site": "same-site"}
    async with serve_https(built.app) as client:
        await register(client)
        login = await client.post(
            f"{AUTH}/login",
            data={"username": "ada@example.com", "password": PASSWORD},
            headers=cross,
        )
        preflight = await client.options(
            f"{AUTH}/logout",
            headers={
                **cross,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, x-csrf-token",
            },
        )
        logout = await client.post(
            f"{AUTH}/logout", headers={**cross, "X-CSRF-Token": login.json()["csrf_token"]}
        )
    assert preflight.status_code == 204, preflight.text
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "x-csrf-token" in allowed
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert logout.status_code == 204, logout.text
    assert logout.headers["access-control-allow-origin"] == APP_ORIGIN
