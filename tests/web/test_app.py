"""`create_app`: docs visibility, routers under the prefix, OpenAPI, lifespan resources."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from bastion import create_app
from bastion.core import BastionSettings
from bastion.errors import NotFoundError
from bastion.web import Resources, error_responses
from tests.conftest import TEST_SECRET, serve

DOC_PATHS = ["/docs", "/redoc", "/openapi.json"]


def _router() -> APIRouter:
    router = APIRouter(tags=["things"])

    @router.get("/things/{thing_id}", responses=error_responses(404))
    async def thing(thing_id: int) -> dict[str, int]:
        if thing_id == 0:
            raise NotFoundError()
        return {"id": thing_id}

    return router


@pytest.mark.parametrize("path", DOC_PATHS)
async def test_docs_served_in_development(path: str) -> None:
    app = create_app(BastionSettings(environment="development", configure_logging=False))
    async with serve(app) as client:
        response = await client.get(path)
    assert response.status_code == 200


@pytest.mark.parametrize("path", DOC_PATHS)
@pytest.mark.parametrize("environment", ["production", "test"])
async def test_docs_hidden_outside_development(path: str, environment: str) -> None:
    settings = BastionSettings(
        environment=environment, secret_key=TEST_SECRET, configure_logging=False
    )
    app = create_app(settings)
    async with serve(app) as client:
        response = await client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_docs_served_in_production_when_enabled_explicitly() -> None:
    settings = BastionSettings(
        environment="production",
        secret_key=TEST_SECRET,
        docs_enabled=True,
        configure_logging=False,
    )
    app = create_app(settings)
    async with serve(app) as client:
        assert (await client.get("/openapi.json")).status_code == 200


async def test_routers_are_mounted_under_the_api_prefix(settings: BastionSettings) -> None:
    app = create_app(settings, routers=[_router()])
    async with serve(app) as client:
        assert (await client.get("/api/v1/things/7")).json() == {"id": 7}
        assert (await client.get("/things/7")).status_code == 404


async def test_custom_api_prefix() -> None:
    settings = BastionSettings(environment="test", api_prefix="/v2", configure_logging=False)
    app = create_app(settings, routers=[_router()])
    async with serve(app) as client:
        assert (await client.get("/v2/things/7")).status_code == 200


async def test_health_is_ok_and_touches_nothing(settings: BastionSettings) -> None:
    async def broken() -> None:
        raise ConnectionError("database down")

    app = create_app(settings, ready_checks={"database": broken})
    async with serve(app) as client:
        response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_the_probes_answer_head_for_load_balancers_that_probe_with_it(
    settings: BastionSettings,
) -> None:
    async def broken() -> None:
        raise ConnectionError("database down")

    healthy = create_app(settings)
    failing = create_app(settings, ready_checks={"database": broken})
    async with serve(healthy) as client:
        health, ready = await client.head("/health"), await client.head("/ready")
    async with serve(failing) as client:
        not_ready = await client.head("/ready")
    assert (health.status_code, ready.status_code, not_ready.status_code) == (200, 200, 503)
    assert health.headers["x-request-id"]
    assert health.headers["x-content-type-options"] == "nosniff"
    assert set(healthy.openapi()["paths"]["/health"]) == {"get"}  # HEAD stays out of the schema


async def test_the_probes_answer_before_any_host_route_even_a_catch_all() -> None:
    """The probes are matched first: a host route can never shadow them.

    With an empty API prefix a host's catch-all covers `/health` and `/metrics`;
    an orchestrator probing the app must still reach bastion's own answers.
    """
    settings = BastionSettings(environment="test", api_prefix="", configure_logging=False)
    router = APIRouter()

    @router.get("/{rest:path}")
    async def catch_all(rest: str) -> dict[str, str]:
        return {"host": rest}

    app = create_app(settings, routers=[router])
    async with serve(app) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        assert (await client.get("/ready")).json()["status"] == "ready"
        assert (await client.get("/metrics")).headers["content-type"].startswith("text/plain")
        assert (await client.get("/anything")).json() == {"host": "anything"}


async def test_paths_ending_like_a_probe_reach_the_host_and_probes_answer_under_a_root_path() -> (
    None
):
    """Under an API prefix the probes come after the host's routes: each path reaches its own route."""
    settings = BastionSettings(environment="test", api_prefix="/api", configure_logging=False)
    router = APIRouter()

    @router.get("/things/health")
    async def thing_health() -> dict[str, str]:
        return {"host": "things"}

    app = create_app(settings, routers=[router])
    async with serve(app) as client:
        assert (await client.get("/api/things/health")).json() == {"host": "things"}
        assert (await client.get("/api/health")).status_code == 404
        assert (await client.get("/health/")).status_code == 404
    transport = httpx.ASGITransport(app=app, root_path="/svc")  # behind a proxy's path prefix
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        assert (await client.get("/svc/health")).json() == {"status": "ok"}
        assert (await client.get("/svc/api/things/health")).json() == {"host": "things"}


async def test_the_apps_dependency_overrides_reach_the_probes() -> None:
    """A host's test overriding a dependency sees `/ready` use the override."""
    from bastion.web import get_resources

    app = create_app(BastionSettings(environment="test", configure_logging=False))
    async with serve(app) as client:
        real = app.state.resources
        checked: list[str] = []

        async def failing_check() -> bool:
            checked.append("stub")
            return False

        stub = Resources(
            settings=real.settings, limiter=real.limiter, trusted_proxies=real.trusted_proxies
        )
        stub.add_ready_check("stub", failing_check)
        app.dependency_overrides[get_resources] = lambda: stub
        response = await client.get("/ready")
    assert response.status_code == 503
    assert checked == ["stub"]


def test_openapi_metadata_and_envelope_component() -> None:
    settings = BastionSettings(
        environment="development",
        app_name="orders",
        app_version="2.3.4",
        app_description="Orders service.",
        contact_name="Ops",
        contact_email="ops@example.com",
        license_name="MIT",
        license_url="https://opensource.org/licenses/MIT",
        configure_logging=False,
    )
    app = create_app(
        settings,
        routers=[_router()],
        openapi_tags=[{"name": "things", "description": "Things."}],
    )
    schema = app.openapi()
    info = schema["info"]
    assert info["title"] == "orders"
    assert info["version"] == "2.3.4"
    assert info["description"] == "Orders service."
    assert info["contact"] == {"name": "Ops", "email": "ops@example.com"}
    assert info["license"] == {"name": "MIT", "url": "https://opensource.org/licenses/MIT"}
    assert schema["tags"] == [{"name": "things", "description": "Things."}]
    components = schema["components"]["schemas"]
    assert "ErrorEnvelope" in components
    assert "HTTPValidationError" not in components
    envelope_ref = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "500" in responses, f"{method} {path} lacks 500"
            for status, response in responses.items():
                if int(status) >= 400:
                    content = response["content"]["application/json"]["schema"]
                    assert content == envelope_ref, f"{method} {path} {status}"
    thing = schema["paths"]["/api/v1/things/{thing_id}"]["get"]["responses"]
    assert {"200", "404", "422", "500"} <= set(thing)


async def test_lifespan_builds_resources_and_runs_host_lifespan(
    settings: BastionSettings,
) -> None:
    seen: list[str] = []

    @asynccontextmanager
    async def host(app: FastAPI, resources: Resources) -> AsyncIterator[None]:
        assert resources.settings is settings
        seen.append("start")
        resources.add_ready_check("host", _ok)
        yield
        seen.append("stop")

    app = create_app(settings, lifespan=host, database=True)
    assert app.state.resources is None
    async with serve(app) as client:
        assert isinstance(app.state.resources, Resources)
        ready = await client.get("/ready")
        assert ready.json() == {"status": "ready", "checks": {"database": "ok", "host": "ok"}}
        assert seen == ["start"]
    assert seen == ["start", "stop"]
    assert app.state.resources is None


async def _ok() -> None:
    return None


async def test_two_apps_share_nothing(settings: BastionSettings) -> None:
    first = create_app(settings, ready_checks={"a": _ok}, database=True)
    second = create_app(settings, database=True)
    async with serve(first) as one, serve(second) as two:
        assert (await one.get("/ready")).json()["checks"] == {"database": "ok", "a": "ok"}
        assert (await two.get("/ready")).json()["checks"] == {"database": "ok"}
        assert first.state.resources.engine is not second.state.resources.engine


class ValidationError(BaseModel):
    """A host's own model that happens to share FastAPI's schema name."""

    field: str


def test_a_host_model_named_like_fastapis_validation_schema_is_kept() -> None:
    router = APIRouter()

    @router.post("/checks")
    async def check(body: ValidationError) -> ValidationError:
        return body

    settings = BastionSettings(environment="development", configure_logging=False)
    schema = create_app(settings, routers=[router]).openapi()
    components = schema["components"]["schemas"]
    assert "ValidationError" in components
    assert "HTTPValidationError" not in components
    # No reference is left dangling.
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schema)))
    assert refs <= set(components)
