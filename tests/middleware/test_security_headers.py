"""Security headers: HSTS only behind HTTPS, handler headers kept, a docs profile, no Server."""

from __future__ import annotations

from fastapi import APIRouter, Response

from bastion.middleware import DOCS_CONTENT_SECURITY_POLICY, SecurityHeadersConfig
from tests.edge import edge_app, edge_settings, serve_as


async def test_hsts_is_sent_only_when_the_deployment_says_it_is_behind_https() -> None:
    async with serve_as(edge_app(edge_settings())) as client:
        plain = await client.get("/health")
    async with serve_as(edge_app(edge_settings(hsts_enabled=True, hsts_max_age=600))) as client:
        https = await client.get("/health")
    assert "strict-transport-security" not in plain.headers
    assert https.headers["strict-transport-security"] == "max-age=600; includeSubDomains"


async def test_the_default_hsts_value_is_one_year_with_subdomains() -> None:
    headers = dict(SecurityHeadersConfig(hsts=True).headers())
    assert headers[b"strict-transport-security"] == b"max-age=31536000; includeSubDomains"


async def test_headers_a_handler_set_are_kept_and_the_server_header_is_dropped() -> None:
    async with serve_as(edge_app(edge_settings())) as client:
        response = await client.get("/api/v1/own-headers")
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert response.headers.get_list("cache-control") == ["public, max-age=60"]
    assert "server" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_docs_pages_get_a_csp_that_lets_swagger_ui_and_redoc_load() -> None:
    app = edge_app(edge_settings(docs_enabled=True))
    async with serve_as(app) as client:
        docs = await client.get("/docs")
        redoc = await client.get("/redoc")
        schema = await client.get("/openapi.json")
    assert docs.status_code == 200
    for page in (docs, redoc):
        assert page.headers["content-security-policy"] == DOCS_CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in DOCS_CONTENT_SECURITY_POLICY
    assert schema.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


async def test_the_api_csp_comes_from_settings() -> None:
    settings = edge_settings(content_security_policy="default-src 'self'")
    async with serve_as(edge_app(settings)) as client:
        response = await client.get("/api/v1/items")
    assert response.headers["content-security-policy"] == "default-src 'self'"


async def test_security_headers_can_be_turned_off() -> None:
    async with serve_as(edge_app(edge_settings(security_headers_enabled=False))) as client:
        response = await client.get("/api/v1/items")
    assert "x-frame-options" not in response.headers
    assert response.headers["x-request-id"]


def _own_id_router() -> APIRouter:
    router = APIRouter()

    @router.get("/own-id")
    async def own_id() -> Response:
        headers = {"X-Request-ID": "inner", "X-Frame-Options": "SAMEORIGIN", "Server": "leaky/1.0"}
        return Response(headers=headers)

    return router


async def test_an_inner_id_a_handler_security_header_and_server_together() -> None:
    """The one layer that sets the id and the security headers decides on all three at once."""
    async with serve_as(edge_app(edge_settings(), _own_id_router())) as client:
        response = await client.get("/api/v1/own-id", headers={"X-Request-ID": "mine"})
    assert response.headers.get_list("x-request-id") == ["mine"]
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert "server" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_with_security_headers_off_a_handler_server_header_is_left_alone() -> None:
    settings = edge_settings(security_headers_enabled=False)
    async with serve_as(edge_app(settings, _own_id_router())) as client:
        response = await client.get("/api/v1/own-id", headers={"X-Request-ID": "mine"})
    assert response.headers.get_list("x-request-id") == ["mine"]
    assert response.headers["server"] == "leaky/1.0"
    assert "x-content-type-options" not in response.headers
