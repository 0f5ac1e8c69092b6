"""The route walk reaches routes nested in included routers, as FastAPI lays them out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from bastion import create_app
from bastion.core import BastionSettings
from bastion.ratelimit import RateLimit
from bastion.web._edge_openapi import has_rate_limit
from bastion.web._routes import api_routes, operation_routes
from tests.conftest import serve


def _routers() -> list[APIRouter]:
    inner = APIRouter(prefix="/inner")

    @inner.get("/limited/{n}", dependencies=[Depends(RateLimit("5/minute"))])
    async def limited(n: int) -> dict[str, int]:
        return {"n": n}

    @inner.get("/hidden", include_in_schema=False)
    async def hidden() -> None: ...

    outer = APIRouter(prefix="/outer")
    outer.include_router(inner)
    other = APIRouter(prefix="/outer/inner")

    @other.delete("/limited/{n}")
    async def remove(n: int) -> None: ...

    return [outer, other]


def _nested_app() -> FastAPI:
    app = FastAPI()
    for router in _routers():
        app.include_router(router, prefix="/v1")
    return app


def test_every_route_of_nested_routers_is_found_with_its_full_path() -> None:
    app = _nested_app()
    found = {(route.path_format, frozenset(route.methods or ())) for route in api_routes(app)}
    assert ("/v1/outer/inner/limited/{n}", frozenset({"GET"})) in found
    assert ("/v1/outer/inner/hidden", frozenset({"GET"})) in found
    assert ("/v1/outer/inner/limited/{n}", frozenset({"DELETE"})) in found
    documented = {route.path_format for route in operation_routes(app)}
    assert "/v1/outer/inner/hidden" not in documented
    limited = [
        route
        for route in operation_routes(app)
        if route.dependant is not None and has_rate_limit(route.dependant)
    ]
    assert [route.path_format for route in limited] == ["/v1/outer/inner/limited/{n}"]


async def test_405_allow_names_the_methods_of_routes_from_several_nested_routers(
    settings: BastionSettings,
) -> None:
    async with serve(create_app(settings, routers=_routers())) as client:
        response = await client.put("/api/v1/outer/inner/limited/3")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD"
