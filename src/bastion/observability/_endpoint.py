"""`metrics_router`: `GET /metrics`, the app's metrics for a Prometheus scrape."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from pydantic import SecretStr
from starlette.routing import Match, Route
from starlette.types import Scope

from bastion.errors import UnauthenticatedError
from bastion.observability._metrics import HttpMetrics
from bastion.observability._middleware import METRICS_PATH

__all__ = ["metrics_router"]


class _ScrapeRoute(Route):
    """The `/metrics` route, which turns every other path away with one string check.

    It sits before the host's routes, so every API request tries it first,
    and a Starlette route's own check (the root path, then a regular
    expression) is then most of what `/metrics` costs a request.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Match as a Starlette route does, refusing at once a path not ending in `/metrics`."""
        # The path a route matches is the end of `scope["path"]` (below the root path).
        if not scope["path"].endswith(METRICS_PATH):
            return Match.NONE, {}
        return super().matches(scope)


def _bearer(request: Request) -> bytes | None:
    """The bearer token of the request's `Authorization` header, or None."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip().encode()


def metrics_router(
    metrics: HttpMetrics, *, token: SecretStr | None = None, router: APIRouter | None = None
) -> APIRouter:
    """Build the router serving `GET /metrics` from `metrics`.

    Prometheus text by default, OpenMetrics when the `Accept` header asks for
    it. With a `token`, only a request bearing it as `Authorization: Bearer`
    is answered (compared in constant time; 401 `NOT_AUTHENTICATED` otherwise).

    Args:
        metrics: The app's metrics.
        token: The bearer token a scraper must present (`BASTION_METRICS_TOKEN`).
        router: Add the route to this router (`create_app` passes the app's
            own) instead of a new one.
    """
    router = APIRouter() if router is None else router
    expected = None if token is None else token.get_secret_value().encode()

    async def scrape(request: Request) -> Response:
        if expected is not None:
            presented = _bearer(request)
            if presented is None or not hmac.compare_digest(presented, expected):
                raise UnauthenticatedError(
                    "A valid metrics bearer token is required.",
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
        body, content_type = metrics.exposition(request.headers.get("accept"))
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    # Not a FastAPI route: the scrape needs neither dependency injection nor
    # OpenAPI, and FastAPI's route costs every API request more to try.
    router.routes.append(
        _ScrapeRoute(METRICS_PATH, scrape, methods=["GET"], include_in_schema=False)
    )
    return router
