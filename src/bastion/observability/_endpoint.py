"""`metrics_router`: `GET /metrics`, the app's metrics for a Prometheus scrape."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from pydantic import SecretStr

from bastion.errors import UnauthenticatedError
from bastion.observability._metrics import HttpMetrics
from bastion.observability._middleware import METRICS_PATH

__all__ = ["metrics_router"]


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

    # A plain Starlette route: the scrape needs neither dependency injection nor
    # OpenAPI, and where the probes come first (an empty API prefix) every
    # request tries it, and FastAPI's route costs twice as much to try.
    router.add_route(METRICS_PATH, scrape, methods=["GET"], include_in_schema=False)
    return router
