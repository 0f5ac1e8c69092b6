"""The `/health` (liveness) and `/ready` (readiness) routes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import Match
from starlette.types import Scope

from bastion.errors import NotReadyError
from bastion.web._dependencies import AppResources
from bastion.web._openapi import error_responses
from bastion.web._readiness import run_checks

__all__ = ["HealthOut", "ProbeRoute", "ReadyOut", "health_router"]


class HealthOut(BaseModel):
    """Liveness answer."""

    status: Literal["ok"] = "ok"


class ReadyOut(BaseModel):
    """Readiness answer with each check's outcome."""

    status: Literal["ready"] = "ready"
    checks: dict[str, str]


class ProbeRoute(APIRoute):
    """An `APIRoute` on a fixed path that turns other paths away with one string test.

    The probes sit in front of every API route, so that no host route can
    shadow them; every API request is therefore matched against each probe
    first. A plain route runs its path regex and FastAPI's route lookup to say
    no (about 2 µs each, docs/edge.md); a path that does not end with the
    probe's own path can never match it, whatever the `root_path`.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """`APIRoute.matches`, after the one-comparison refusal."""
        if scope["type"] == "http" and not scope["path"].endswith(self.path):
            return Match.NONE, {}
        return super().matches(scope)


def health_router(router: APIRouter | None = None) -> APIRouter:
    """Build the router serving `GET /health` and `GET /ready`.

    `/health` touches nothing: it answers while the process can serve at all.
    `/ready` runs every registered check concurrently, each under its own
    timeout, and answers 503 `NOT_READY` naming the checks that failed.

    Args:
        router: Add the two routes to this router (`create_app` passes the
            app's own) instead of a new one.
    """
    router = APIRouter() if router is None else router

    async def health() -> HealthOut:
        return HealthOut()

    async def ready(resources: AppResources) -> ReadyOut:
        outcomes = await run_checks(
            resources.ready_checks, default_timeout=resources.settings.ready_timeout
        )
        failing = {name: outcome for name, outcome in outcomes.items() if outcome != "ok"}
        if failing:
            names = ", ".join(sorted(failing))
            raise NotReadyError(f"Not ready: {names}.", details={"checks": outcomes})
        return ReadyOut(checks=outcomes)

    router.add_api_route(
        "/health",
        health,
        summary="Liveness probe",
        tags=["health"],
        route_class_override=ProbeRoute,
    )
    router.add_api_route(
        "/ready",
        ready,
        summary="Readiness probe",
        tags=["health"],
        responses=error_responses(503),
        route_class_override=ProbeRoute,
    )
    return router
