"""The OpenAPI document lists every status the edge can answer each operation with."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from bastion.ratelimit import RateLimit
from tests.edge import edge_app, edge_settings, serve_as


def _limited_router() -> APIRouter:
    router = APIRouter()

    @router.get("/limited", dependencies=[Depends(RateLimit("5/minute"))])
    async def limited() -> dict[str, bool]:
        return {"ok": True}

    return router


async def _responses(**overrides: object) -> dict[str, dict[str, list[str]]]:
    values: dict[str, object] = {"docs_enabled": True, "ratelimit_default": "1000/minute"}
    settings = edge_settings(**(values | overrides))
    async with serve_as(edge_app(settings, _limited_router())) as client:
        schema = (await client.get("/openapi.json")).json()
    return {
        path: {method: sorted(op["responses"]) for method, op in item.items()}
        for path, item in schema["paths"].items()
    }


async def test_each_operation_lists_the_edge_statuses_that_apply_to_it() -> None:
    paths = await _responses()
    assert paths["/api/v1/items"]["post"] == ["201", "400", "413", "422", "429", "500", "504"]
    assert paths["/api/v1/items"]["get"] == ["200", "429", "500", "504"]
    assert paths["/health"]["get"] == ["200", "500", "504"]  # exempt from the global limit


async def test_fail_closed_timeouts_off_route_limits_and_trusted_hosts_are_reflected() -> None:
    paths = await _responses(
        ratelimit_fail_open=False,
        ratelimit_default=None,
        request_timeout=0,
        trusted_hosts=["testserver"],
    )
    assert paths["/api/v1/limited"]["get"] == ["200", "400", "429", "500", "503"]
    assert paths["/api/v1/items"]["get"] == ["200", "400", "500"]
    assert paths["/api/v1/items"]["post"] == ["201", "400", "413", "422", "500"]


async def test_edge_statuses_use_the_error_envelope_schema() -> None:
    settings = edge_settings(docs_enabled=True)
    async with serve_as(edge_app(settings)) as client:
        schema = (await client.get("/openapi.json")).json()
    response = schema["paths"]["/api/v1/items"]["post"]["responses"]["413"]
    assert response["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorEnvelope"
    }
