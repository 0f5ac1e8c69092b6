"""The catch-all in the request-id layer: inner exceptions become envelopes, never re-sent."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import APIRouter
from starlette.types import Receive, Scope, Send

from bastion.core import request_id_var
from bastion.errors import RateLimitedError
from bastion.middleware import RequestIdMiddleware
from tests.edge import edge_app, edge_settings, serve_as


async def _crashing_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise ValueError("inner layer exploded")


async def _limited_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise RateLimitedError(headers={"Retry-After": "7"})


async def _crash_mid_body(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise RuntimeError("died while streaming")


def _client(inner: object) -> httpx.AsyncClient:
    app = RequestIdMiddleware(inner)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_exception_from_inner_middleware_is_500_envelope() -> None:
    async with _client(_crashing_app) as client:
        response = await client.get("/x")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert response.json()["error"]["request_id"] == response.headers["x-request-id"]
    assert "exploded" not in response.text


async def test_bastion_error_from_inner_middleware_keeps_status_and_headers() -> None:
    async with _client(_limited_app) as client:
        response = await client.get("/x")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["error"]["code"] == "RATE_LIMITED"


async def test_crash_after_response_started_is_logged_not_resent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="bastion.errors")
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
    # Returns normally: the server sees an unfinished response and drops the connection.
    await RequestIdMiddleware(_crash_mid_body)(scope, receive, send)  # type: ignore[arg-type]
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["more_body"] is True
    assert any("died while streaming" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


async def test_non_http_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    stack = RequestIdMiddleware(app)

    async def receive() -> dict[str, str]:
        return {"type": "lifespan.startup"}

    async def send(message: object) -> None:
        return None

    await stack({"type": "lifespan"}, receive, send)  # type: ignore[arg-type]
    assert seen == ["lifespan"]
    assert request_id_var.get() is None


def _faulty_router() -> APIRouter:
    router = APIRouter(prefix="/faulty")

    @router.get("/encode")
    async def encode() -> dict[str, int]:
        # A server-side bug: text the code made itself cannot be encoded.
        return {"size": len("caf\udce9".encode())}

    @router.get("/accounts/{account_id}/crash")
    async def crash(account_id: str) -> None:
        raise RuntimeError("boom")

    return router


async def test_a_server_side_encoding_bug_is_a_logged_500_not_a_422(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="bastion.errors")
    async with serve_as(edge_app(edge_settings(), _faulty_router())) as client:
        response = await client.get("/api/v1/faulty/encode")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    records = [r for r in caplog.records if r.name == "bastion.errors"]
    assert len(records) == 1
    assert records[0].exc_info is not None
    assert isinstance(records[0].exc_info[1], UnicodeEncodeError)


async def test_the_unhandled_error_line_names_the_route_template_not_the_raw_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="bastion.errors")
    async with serve_as(edge_app(edge_settings(), _faulty_router())) as client:
        response = await client.get(
            "/api/v1/faulty/accounts/jane.doe@example.com/crash", params={"token": "s3cr3t"}
        )
    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.name == "bastion.errors"]
    message = record.getMessage()
    assert message == "unhandled exception in GET /api/v1/faulty/accounts/{account_id}/crash"
    assert "jane.doe" not in message
    assert "s3cr3t" not in message
