"""The `/health` (liveness) and `/ready` (readiness) routes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from bastion.errors import NotReadyError
from bastion.web._dependencies import AppResources
from bastion.web._openapi import error_responses
from bastion.web._readiness import run_checks

__all__ = ["HealthOut", "ReadyOut", "health_router"]


class HealthOut(BaseModel):
    """Liveness answer."""

    status: Literal["ok"] = "ok"


class ReadyOut(BaseModel):
    """Readiness answer with each check's outcome."""

    status: Literal["ready"] = "ready"
    checks: dict[str, str]


def health_router(router: APIRouter | None = None) -> APIRouter:
    """Build the router serving `GET /health` and `GET /ready`.

    `/health` touches nothing: it answers while the process can serve at all.
    `/ready` runs every registered check concurrently, each under its own
    timeout, and answers 503 `NOT_READY` naming the checks that failed.
    Both answer `HEAD` too, for load balancers that probe with it, as every
    GET route does behind the edge (`HeadMiddleware`).

    Args:
        router: Add the two routes to this router (`create_app` passes the
            app's own) instead of a new one.
    """
    router = APIRouter() if router is None else router

    @router.get("/health", summary="Liveness probe", tags=["health"])
    async def health() -> HealthOut:
        return HealthOut()

    @router.get(
        "/ready", summary="Readiness probe", tags=["health"], responses=error_responses(503)
    )
    async def ready(resources: AppResources) -> ReadyOut:
        outcomes = await run_checks(
            resources.ready_checks, default_timeout=resources.settings.ready_timeout
        )
        failing = {name: outcome for name, outcome in outcomes.items() if outcome != "ok"}
        if failing:
            names = ", ".join(sorted(failing))
            raise NotReadyError(
                f"Not ready: {names}.", details={"checks": outcomes}, headers={"Retry-After": "1"}
            )
        return ReadyOut(checks=outcomes)

    return router
