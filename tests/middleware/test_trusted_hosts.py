"""Trusted hosts: an optional `Host` allow-list with wildcard subdomains."""

from __future__ import annotations

import pytest
from starlette.types import Message

from bastion.middleware import TrustedHostConfig, TrustedHostMiddleware
from tests.edge import edge_app, edge_settings, serve_as


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("api.example.com", 200),
        ("api.example.com:8443", 200),
        ("eu.svc.example.com", 200),
        ("example.com", 400),
        ("evil.example", 400),
        ("[::1]:8000", 400),
    ],
)
async def test_only_allowed_hosts_are_served(host: str, status: int) -> None:
    settings = edge_settings(trusted_hosts=["api.example.com", "*.svc.example.com"])
    async with serve_as(edge_app(settings)) as client:
        response = await client.get("/api/v1/items", headers={"Host": host})
    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["code"] == "INVALID_HOST"
        assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    "hosts", [["evil.example", "api.example.com"], ["api.example.com", "evil.example"]]
)
async def test_two_host_headers_are_refused_in_either_order(hosts: list[str]) -> None:
    # The app reads the first (`request.url`, `base_url`): checking another would let
    # `Host: evil.example` through to the absolute URLs the app builds (RFC 9112: 400).
    settings = edge_settings(trusted_hosts=["api.example.com"])
    async with serve_as(edge_app(settings)) as client:
        response = await client.get(
            "/api/v1/items", headers=[(b"Host", host.encode()) for host in hosts]
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_HOST"


async def test_a_websocket_for_an_unknown_host_is_closed() -> None:
    sent: list[Message] = []

    async def inner(scope: object, receive: object, send: object) -> None:
        raise AssertionError("must not be reached")

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = TrustedHostMiddleware(inner, config=TrustedHostConfig(("api.example.com",)))  # type: ignore[arg-type]
    scope = {"type": "websocket", "path": "/ws", "headers": [(b"host", b"evil.example")]}
    await middleware(scope, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]


@pytest.mark.parametrize("environment", ["development", "test", "production"])
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/items/"), ("POST", "/api/v1/items/"), ("GET", "/api/v1/boom/")],
)
async def test_a_trailing_slash_is_never_redirected_to_the_host_header(
    environment: str, method: str, path: str
) -> None:
    settings = edge_settings(environment=environment)
    async with serve_as(edge_app(settings)) as client:
        response = await client.request(
            method, path, headers={"Host": "evil.example"}, params={"q": "1"}, json={}
        )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert "location" not in response.headers
    assert "evil.example" not in response.text
