"""`Observability`: an app's metrics and tracing, built from settings, wired by `create_app`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter
from opentelemetry.trace import Tracer, TracerProvider
from starlette.middleware import Middleware

from bastion.observability._db_tracing import trace_engine
from bastion.observability._endpoint import metrics_router
from bastion.observability._metrics import HttpMetrics
from bastion.observability._middleware import ObservabilityMiddleware
from bastion.observability._tracing import HttpTracing
from bastion.ratelimit import TrustedProxies

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bastion.core import BastionSettings

__all__ = ["Observability"]


class Observability:
    """The metrics (`BASTION_METRICS_*`) and tracing (`BASTION_TRACING_ENABLED`) of one app.

    Attributes:
        metrics: The app's request metrics, or None when turned off.
        tracing: Where the app's spans go, or None when tracing is turned off.
    """

    def __init__(
        self, settings: BastionSettings, *, tracer_provider: TracerProvider | None = None
    ) -> None:
        """Build what `settings` turn on; spans go to `tracer_provider` (or the global one)."""
        self.settings = settings
        self.metrics = (
            HttpMetrics(directory=settings.metrics_dir) if settings.metrics_enabled else None
        )
        self.tracing = HttpTracing(tracer_provider) if settings.tracing_enabled else None

    def middleware(self) -> list[Middleware]:
        """The outermost layer, or nothing when both parts are off."""
        if self.metrics is None and self.tracing is None:
            return []
        proxies = TrustedProxies(
            self.settings.trusted_proxies, header=self.settings.forwarded_header
        )
        return [
            Middleware(
                ObservabilityMiddleware,
                metrics=self.metrics,
                tracing=self.tracing,
                trusted_proxies=proxies,
            )
        ]

    def router(self, router: APIRouter | None = None) -> APIRouter:
        """The `/metrics` route, when metrics are on and this environment may serve them.

        Without `BASTION_METRICS_TOKEN`, production has no `/metrics` at all
        (a 404, as for any unknown path); development and test serve it openly.

        Args:
            router: Add the route to this router (`create_app` passes the app's
                own) instead of a new one.
        """
        router = APIRouter() if router is None else router
        settings = self.settings
        if self.metrics is None or (settings.is_production and settings.metrics_token is None):
            return router
        return metrics_router(self.metrics, token=settings.metrics_token, router=router)

    def tracer(self) -> Tracer | None:
        """The tracer for the app's database and Redis clients; None traces nothing."""
        return None if self.tracing is None else self.tracing.tracer()

    def instrument_engine(self, engine: AsyncEngine) -> None:
        """Trace `engine`'s statements, when a tracer is configured."""
        tracer = self.tracer()
        if tracer is not None:
            trace_engine(engine, tracer)

    def close(self) -> None:
        """Release what the metrics hold for this process (at the lifespan's end)."""
        if self.metrics is not None:
            self.metrics.close()
