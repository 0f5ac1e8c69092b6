"""CORS: default deny with the envelope, allow-lists, credentials, `Vary: Origin`."""

from __future__ import annotations

import pytest

from bastion.middleware import CORSConfig
from tests.edge import edge_app, edge_settings, serve_as

APP_ORIGIN = "https://app.example.com"


def _preflight(origin: str, method: str = "POST", headers: str = "") -> dict[str, str]:
    values = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        values["Access-Control-Request-Headers"] = headers
    return values


async def test_without_configured_origins_a_preflight_is_a_403_envelope() -> None:
    async with serve_as(edge_app(edge_settings())) as client:
        response = await client.options("/api/v1/items", headers=_preflight(APP_ORIGIN))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "CORS_REJECTED"
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["x-request-id"]


async def test_without_configured_origins_a_simple_request_is_served_without_allow_origin() -> None:
    async with serve_as(edge_app(edge_settings())) as client:
        response = await client.get("/api/v1/items", headers={"Origin": APP_ORIGIN})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Origin"


async def test_an_allowed_preflight_gets_the_allow_headers() -> None:
    settings = edge_settings(
        cors_allow_origins=[APP_ORIGIN], cors_allow_credentials=True, cors_max_age=120
    )
    async with serve_as(edge_app(settings)) as client:
        response = await client.options(
            "/api/v1/items", headers=_preflight(APP_ORIGIN, "POST", "content-type, authorization")
        )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert response.headers["vary"] == "Origin"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-max-age"] == "120"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "Authorization" in response.headers["access-control-allow-headers"]
    assert "ratelimit-limit" not in response.headers  # preflights spend no budget


async def test_head_is_allowed_wherever_get_is_since_every_get_route_answers_it() -> None:
    allowing_get = edge_settings(cors_allow_origins=[APP_ORIGIN])
    without_get = edge_settings(cors_allow_origins=[APP_ORIGIN], cors_allow_methods=["POST"])
    async with serve_as(edge_app(allowing_get)) as client:
        allowed = await client.options(
            "/api/v1/items", headers=_preflight(APP_ORIGIN, "HEAD", "authorization")
        )
    async with serve_as(edge_app(without_get)) as client:
        refused = await client.options("/api/v1/items", headers=_preflight(APP_ORIGIN, "HEAD"))
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-methods"].startswith("GET, HEAD, POST")
    assert refused.status_code == 403
    assert refused.json()["error"]["details"] == {"rejected": ["method"]}


async def test_a_cross_origin_retry_may_send_its_key_and_read_the_replay_header() -> None:
    settings = edge_settings(cors_allow_origins=[APP_ORIGIN])
    async with serve_as(edge_app(settings)) as client:
        preflight = await client.options(
            "/api/v1/items", headers=_preflight(APP_ORIGIN, "POST", "idempotency-key")
        )
        simple = await client.get("/api/v1/items", headers={"Origin": APP_ORIGIN})
    assert preflight.status_code == 204
    assert "Idempotency-Key" in preflight.headers["access-control-allow-headers"]
    assert "Idempotent-Replayed" in simple.headers["access-control-expose-headers"]


@pytest.mark.parametrize(
    ("headers", "rejected"),
    [
        (_preflight("https://evil.example"), ["origin"]),
        (_preflight(APP_ORIGIN, "TRACE"), ["method"]),
        (_preflight(APP_ORIGIN, "GET", "x-secret-header"), ["headers"]),
    ],
)
async def test_a_preflight_outside_the_allow_lists_is_rejected(
    headers: dict[str, str], rejected: list[str]
) -> None:
    async with serve_as(edge_app(edge_settings(cors_allow_origins=[APP_ORIGIN]))) as client:
        response = await client.options("/api/v1/items", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["details"] == {"rejected": rejected}
    assert "access-control-allow-origin" not in response.headers


async def test_an_allowed_simple_request_echoes_the_origin_and_exposes_headers() -> None:
    async with serve_as(edge_app(edge_settings(cors_allow_origins=[APP_ORIGIN]))) as client:
        allowed = await client.get("/api/v1/items", headers={"Origin": APP_ORIGIN})
        other = await client.get("/api/v1/items", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == APP_ORIGIN
    assert allowed.headers["vary"] == "Origin"
    assert "X-Request-ID" in allowed.headers["access-control-expose-headers"]
    assert "access-control-allow-credentials" not in allowed.headers
    assert "access-control-allow-origin" not in other.headers


async def test_a_wildcard_origin_answers_star_without_vary() -> None:
    async with serve_as(edge_app(edge_settings(cors_allow_origins=["*"]))) as client:
        response = await client.get("/api/v1/items", headers={"Origin": "https://any.example"})
        preflight = await client.options("/api/v1/items", headers=_preflight("https://x.example"))
    assert response.headers["access-control-allow-origin"] == "*"
    assert "vary" not in response.headers
    assert preflight.status_code == 204


def test_a_wildcard_origin_with_credentials_is_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="credentials"):
        edge_app(edge_settings(cors_allow_origins=["*"], cors_allow_credentials=True))
    with pytest.raises(ValueError, match="credentials"):
        CORSConfig(allow_origins=("*",), allow_credentials=True)


async def test_an_options_request_without_preflight_headers_reaches_the_app() -> None:
    async with serve_as(edge_app(edge_settings(cors_allow_origins=[APP_ORIGIN]))) as client:
        response = await client.options("/api/v1/items", headers={"Origin": APP_ORIGIN})
    assert response.status_code == 405
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
