"""The edge stack: its order, and that every rejection carries the id and security headers."""

from __future__ import annotations

import pytest
from starlette.types import Message, Receive, Scope, Send

from bastion.middleware import (
    BodyLimitMiddleware,
    CORSMiddleware,
    EdgeConfig,
    HeadMiddleware,
    RateLimitMiddleware,
    RequestIdMiddleware,
    TimeoutMiddleware,
    TrustedHostMiddleware,
    UnicodeBodyMiddleware,
    edge_layers,
)
from bastion.observability import ObservabilityMiddleware
from tests.edge import SECURITY_HEADERS, edge_app, edge_settings, serve_as

ORDER = [
    RequestIdMiddleware,
    CORSMiddleware,
    TrustedHostMiddleware,
    BodyLimitMiddleware,
    TimeoutMiddleware,
    RateLimitMiddleware,
    UnicodeBodyMiddleware,
    HeadMiddleware,
]


def test_create_app_composes_the_stack_in_the_documented_order() -> None:
    app = edge_app(edge_settings(trusted_hosts=["testserver"]))
    # Metrics and the server span measure everything the edge does: they sit outside it.
    assert [m.cls for m in app.user_middleware] == [ObservabilityMiddleware, *ORDER]


def test_optional_layers_drop_out_without_reordering_the_rest() -> None:
    app = edge_app(edge_settings(request_timeout=0))
    classes = [m.cls for m in app.user_middleware if m.cls is not ObservabilityMiddleware]
    assert TrustedHostMiddleware not in classes
    assert TimeoutMiddleware not in classes
    assert classes == [c for c in ORDER if c in classes]


def test_a_host_composing_by_hand_gets_the_same_layers_as_create_app() -> None:
    settings = edge_settings(trusted_hosts=["testserver"])
    by_hand = edge_layers(EdgeConfig.from_settings(settings))
    observability, *built = edge_app(settings).user_middleware
    assert observability.cls is ObservabilityMiddleware
    assert [(m.cls, m.kwargs) for m in by_hand] == [(m.cls, m.kwargs) for m in built]


async def test_each_layer_acts_before_the_layers_inside_it() -> None:
    """What each answer carries, and what it costs, follows from the order alone."""
    origin = {"Origin": "https://app.example.com"}
    settings = edge_settings(
        cors_allow_origins=["https://app.example.com"],
        trusted_hosts=["testserver"],
        body_limit=1024,
        ratelimit_default="3/minute",
        request_timeout_routes={"/api/v1/slow": 0.01},
    )
    async with serve_as(edge_app(settings)) as client:
        # CORS answers preflights before the rate limit counts anything.
        for asking in ("https://app.example.com", "https://evil.example"):
            preflight = await client.options(
                "/api/v1/items",
                headers={"Origin": asking, "Access-Control-Request-Method": "GET"},
            )
            assert preflight.status_code in (204, 403)
        # Trusted hosts refuse before the body limit looks at the body.
        wrong_host = await client.post(
            "/api/v1/items", content=b"x" * 2048, headers={"Host": "evil.example"}
        )
        assert wrong_host.json()["error"]["code"] == "INVALID_HOST"
        # The body limit refuses inside CORS (readable cross-origin), before the rate limit.
        too_large = await client.post("/api/v1/items", content=b"x" * 2048, headers=origin)
        assert too_large.status_code == 413
        assert too_large.headers["access-control-allow-origin"] == origin["Origin"]
        assert "ratelimit-remaining" not in too_large.headers
        # So the first request the rate limit sees is this one.
        served = await client.get("/api/v1/items", headers=origin)
        assert served.headers["ratelimit-remaining"] == "2"
        # The catch-all sits outside CORS: a 500 is not readable cross-origin.
        crashed = await client.get("/api/v1/boom", headers=origin)
        assert crashed.status_code == 500
        assert "access-control-allow-origin" not in crashed.headers
        assert "ratelimit-remaining" not in crashed.headers
        # The timeout sits inside CORS and outside the rate limit (which did count it).
        timed_out = await client.get("/api/v1/slow", headers=origin)
        assert timed_out.status_code == 504
        assert timed_out.headers["access-control-allow-origin"] == origin["Origin"]
        assert "ratelimit-remaining" not in timed_out.headers
        # The rate limit's refusal gets the headers of every layer outside it.
        limited = await client.get("/api/v1/items", headers=origin)
    assert limited.status_code == 429
    assert limited.headers["ratelimit-remaining"] == "0"
    assert limited.headers["access-control-allow-origin"] == origin["Origin"]
    for response in (wrong_host, too_large, crashed, timed_out, limited):
        assert response.headers["x-request-id"] == response.json()["error"]["request_id"]
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, name


async def test_a_new_lifespan_brings_a_new_limiter() -> None:
    app = edge_app(edge_settings(ratelimit_default="1/minute"))
    for _ in range(2):  # each lifespan builds its own (memory) limiter
        async with serve_as(app) as client:
            assert (await client.get("/api/v1/items")).status_code == 200
            assert (await client.get("/api/v1/items")).status_code == 429


def test_no_middleware_is_built_on_base_http_middleware() -> None:
    from starlette.middleware.base import BaseHTTPMiddleware

    app = edge_app(edge_settings(trusted_hosts=["testserver"]))
    for middleware in app.user_middleware:
        assert isinstance(middleware.cls, type)
        assert not issubclass(middleware.cls, BaseHTTPMiddleware)


@pytest.mark.parametrize("layer", ORDER)
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


async def test_a_hosts_own_layers_inside_the_stack_add_their_headers_through_it() -> None:
    from starlette.middleware import Middleware

    from bastion import create_app
    from bastion.middleware import CORSConfig
    from tests.edge import edge_router

    admin = "https://admin.example"
    inner_cors = Middleware(CORSMiddleware, config=CORSConfig(allow_origins=(admin,)))
    app = create_app(edge_settings(), routers=[edge_router()], middleware=[inner_cors])
    async with serve_as(app) as client:
        served = await client.get("/api/v1/items", headers={"Origin": admin})
        crashed = await client.get("/api/v1/boom", headers={"Origin": admin})
    assert served.headers["access-control-allow-origin"] == admin
    assert served.headers["x-request-id"]
    assert crashed.status_code == 500
    assert "access-control-allow-origin" not in crashed.headers  # the catch-all bypassed it
    assert crashed.headers["x-request-id"] == crashed.json()["error"]["request_id"]
