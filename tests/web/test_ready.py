"""`/ready`: named checks run with their own timeouts; failures are 503 NOT_READY, never 500."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from bastion import create_app
from bastion.core import BastionSettings
from bastion.web import Resources
from tests.conftest import serve


async def _ok() -> None:
    return None


async def _raises() -> None:
    raise ConnectionError("connection refused by 10.0.0.5 with password=hunter2")


async def _false() -> bool:
    return False


async def _slow() -> None:
    await asyncio.sleep(30)


async def test_all_checks_passing_is_200(settings: BastionSettings) -> None:
    app = create_app(settings, ready_checks={"database": _ok, "cache": _ok})
    async with serve(app) as client:
        response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "cache": "ok"}}


async def test_failing_check_is_503_naming_it(settings: BastionSettings) -> None:
    app = create_app(settings, ready_checks={"database": _ok, "cache": _raises})
    async with serve(app) as client:
        response = await client.get("/ready")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "NOT_READY"
    assert "cache" in error["message"]
    assert error["details"] == {"checks": {"database": "ok", "cache": "failed"}}
    assert "hunter2" not in response.text
    assert "10.0.0.5" not in response.text


async def test_check_returning_false_fails(settings: BastionSettings) -> None:
    app = create_app(settings, ready_checks={"queue": _false})
    async with serve(app) as client:
        response = await client.get("/ready")
    assert response.status_code == 503
    assert response.json()["error"]["details"] == {"checks": {"queue": "failed"}}


async def test_slow_check_times_out_on_its_own_timeout() -> None:
    settings = BastionSettings(environment="test", ready_timeout=0.05, configure_logging=False)
    app = create_app(settings, ready_checks={"database": _ok, "search": _slow})
    async with serve(app) as client:
        response = await client.get("/ready")
    assert response.status_code == 503
    error = response.json()["error"]
    assert "search" in error["message"]
    assert error["details"] == {"checks": {"database": "ok", "search": "timeout"}}


async def test_per_check_timeout_overrides_the_default(settings: BastionSettings) -> None:
    async def slowish() -> None:
        await asyncio.sleep(0.2)

    app = create_app(settings)
    async with serve(app) as client:
        resources: Resources = app.state.resources
        resources.add_ready_check("tight", slowish, timeout=0.01)
        response = await client.get("/ready")
    assert response.json()["error"]["details"] == {"checks": {"tight": "timeout"}}


async def test_ready_without_lifespan_is_503_not_500(settings: BastionSettings) -> None:
    import httpx

    app: FastAPI = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/ready")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
