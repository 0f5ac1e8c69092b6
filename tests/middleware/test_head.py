"""HEAD on every GET route: the GET's status and headers, no body; routes that name HEAD keep it."""

from __future__ import annotations

import logging

import pytest
from fastapi import APIRouter, Response

from tests.edge import edge_app, edge_settings, serve_as


def _extra_routes() -> APIRouter:
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: int, response: Response) -> dict[str, int]:
        response.headers["ETag"] = f'"{thing_id}"'
        return {"id": thing_id, "size": 1000}

    @router.head("/own-head")
    async def own_head(response: Response) -> None:
        response.headers["X-Served-By"] = "head"

    @router.get("/own-head")
    async def own_head_get() -> dict[str, str]:
        return {"served_by": "get"}

    return router


async def test_head_on_a_get_route_answers_the_gets_status_and_headers_without_a_body() -> None:
    async with serve_as(edge_app(edge_settings(), _extra_routes())) as client:
        got = await client.get("/api/v1/things/7")
        head = await client.head("/api/v1/things/7")
    assert got.status_code == head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"] == str(len(got.content))
    assert head.headers["etag"] == got.headers["etag"] == '"7"'
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["x-request-id"] != got.headers["x-request-id"]


async def test_head_on_a_refused_get_carries_the_refusals_headers_without_a_body() -> None:
    async with serve_as(edge_app(edge_settings(), _extra_routes())) as client:
        invalid = await client.get("/api/v1/things/not-a-number")
        head = await client.head("/api/v1/things/not-a-number")
        missing = await client.head("/api/v1/nowhere")
    assert invalid.status_code == head.status_code == 422
    assert head.content == b""
    assert head.headers["content-length"] == str(len(invalid.content))
    assert missing.status_code == 404
    assert missing.content == b""


async def test_a_route_declared_for_head_is_served_as_head() -> None:
    async with serve_as(edge_app(edge_settings(), _extra_routes())) as client:
        head = await client.head("/api/v1/own-head")
        got = await client.get("/api/v1/own-head")
    assert head.status_code == 200
    assert head.headers["x-served-by"] == "head"
    assert got.json() == {"served_by": "get"}


async def test_a_405_names_head_beside_get_and_head_on_a_post_only_path_is_a_405() -> None:
    async with serve_as(edge_app(edge_settings())) as client:
        delete = await client.delete("/api/v1/items")
        head = await client.head("/api/v1/uploads")
    assert delete.status_code == 405
    assert delete.headers["allow"] == "GET, HEAD, POST"
    assert head.status_code == 405
    assert head.headers["allow"] == "POST"
    assert head.content == b""


async def test_the_access_line_names_head_and_the_route_template(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with serve_as(edge_app(edge_settings(), _extra_routes())) as client:
        with caplog.at_level(logging.INFO, logger="bastion.access"):
            await client.head("/api/v1/things/7")
    (line,) = [r for r in caplog.records if r.name == "bastion.access"]
    assert line.__dict__["http_method"] == "HEAD"
    assert line.__dict__["route"] == "/api/v1/things/{thing_id}"
    assert line.__dict__["status"] == 200
