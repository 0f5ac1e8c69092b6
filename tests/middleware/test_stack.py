"""The edge stack: its order, and that every rejection carries the id and security headers."""

from __future__ import annotations

import pytest
from starlette.types import Message, Receive, Scope, Send

from bastion.middleware import (
    EDGE_ORDER,
    BodyLimitMiddleware,
    CORSMiddleware,
    ErrorEnvelopeMiddleware,
    RateLimitMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
    TimeoutMiddleware,
    TrustedHostMiddleware,
    UnicodeBodyMiddleware,
)
from tests.edge import SECURITY_HEADERS, edge_app, edge_settings, serve_as


def test_create_app_composes_the_stack_in_the_documented_order() -> None:
    app = edge_app(edge_settings(trusted_hosts=["testserver"]))
    classes = [m.cls for m in app.user_middleware]
    assert classes == [
        RequestIdMiddleware,
        SecurityHeadersMiddleware,
        ErrorEnvelopeMiddleware,
        CORSMiddleware,
        TrustedHostMiddleware,
        BodyLimitMiddleware,
        TimeoutMiddleware,
        RateLimitMiddleware,
        UnicodeBodyMiddleware,
    ]
    assert tuple(classes) == EDGE_ORDER


def test_optional_layers_drop_out_without_reordering_the_rest() -> None:
    app = edge_app(edge_settings(security_headers_enabled=False, request_timeout=0))
    classes = [m.cls for m in app.user_middleware]
    assert TrustedHostMiddleware not in classes
    assert SecurityHeadersMiddleware not in classes
    assert TimeoutMiddleware not in classes
    assert classes == [c for c in EDGE_ORDER if c in classes]


def test_no_middleware_is_built_on_base_http_middleware() -> None:
    from starlette.middleware.base import BaseHTTPMiddleware

    app = edge_app(edge_settings(trusted_hosts=["testserver"]))
    for middleware in app.user_middleware:
        assert isinstance(middleware.cls, type)
        assert not issubclass(middleware.cls, BaseHTTPMiddleware)


@pytest.mark.parametrize("layer", EDGE_ORDER)
async def test_non_http_scopes_pass_through_every_layer(layer: type) -> None:
    seen: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        raise AssertionError("nothing may be sent for a non-HTTP scope")

    middleware = layer(inner)
    await middleware({"type": "lifespan", "path": "/", "headers": []}, receive, send)
    assert seen == ["lifespan"]


@pytest.mark.parametrize(
    ("status", "method", "path", "kwargs"),
    [
        (200, "GET", "/api/v1/items", {}),
        (404, "GET", "/api/v1/missing", {}),
        (413, "POST", "/api/v1/items", {"content": b"x" * 2048}),
        (422, "POST", "/api/v1/items", {"json": {"nope": 1}}),
        (429, "GET", "/api/v1/items", {}),
        (500, "GET", "/api/v1/boom", {}),
        (504, "GET", "/api/v1/slow", {}),
        (
            403,
            "OPTIONS",
            "/api/v1/items",
            {"headers": {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}},
        ),
    ],
)
async def test_every_status_carries_the_request_id_and_security_headers(
    status: int, method: str, path: str, kwargs: dict[str, object]
) -> None:
    settings = edge_settings(
        body_limit=1024,
        ratelimit_default="1/minute" if status == 429 else "1000/minute",
        request_timeout_routes={"/api/v1/slow": 0.01},
    )
    async with serve_as(edge_app(settings)) as client:
        if status == 429:
            await client.get(path)
        response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
    assert response.headers["x-request-id"]
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    assert "permissions-policy" in response.headers
    assert "strict-transport-security" not in response.headers
    assert "server" not in response.headers
    if status >= 400:
        error = response.json()["error"]
        assert error["request_id"] == response.headers["x-request-id"]
        assert "secret internals" not in response.text
