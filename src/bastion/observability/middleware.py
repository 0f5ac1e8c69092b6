"""`ObservabilityMiddleware`: request metrics and the server span, as the outermost layer."""

from __future__ import annotations

import time

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.core.outcome import RequestOutcome, outcome_var
from bastion.middleware.request_id import route_template
from bastion.observability.metrics import HttpMetrics
from bastion.observability.tracing import HEADER_GETTER, HttpTracing, request_attributes

__all__ = ["METRICS_PATH", "UNMATCHED_ROUTE", "ObservabilityMiddleware"]

#: Where the metrics are served; never counted nor traced itself.
METRICS_PATH = "/metrics"
#: The route label of every request no route matched (never the raw path).
UNMATCHED_ROUTE = route_template({"path": "/"})


class ObservabilityMiddleware:
    """Count, time and trace every HTTP request, outside every other layer.

    Outermost, so what it measures is what the client waited for, the
    refusals of the edge layers (413, 429, 504) included, and the server span
    is the parent of everything the request does. The route is read after
    the app ran, from the route the router matched (`scope["route"]`); the
    error code from the envelope the request was answered with.

    Non-HTTP scopes and `/metrics` itself pass through untouched.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: HttpMetrics | None = None,
        tracing: HttpTracing | None = None,
    ) -> None:
        """Wrap `app`; `metrics` and `tracing` None turn their part off."""
        self.app = app
        self.metrics = metrics
        self.tracing = tracing
        # The tracer is chosen when the lifespan starts (an SDK is configured
        # before the server starts the app), not looked up again per request.
        self._tracer: Tracer | None = None
        self._resolved = tracing is None

    def _resolve(self) -> None:
        """Choose the tracer for the lifespan starting (None: no SDK, nothing traced)."""
        self._tracer = None if self.tracing is None else self.tracing.tracer()
        self._resolved = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            if scope["type"] == "lifespan":
                self._resolve()
            await self.app(scope, receive, send)
            return
        if not self._resolved:  # served without a lifespan
            self._resolve()
        tracer = self._tracer
        if tracer is not None:
            await self._traced(tracer, scope, receive, send)
            return
        metrics = self.metrics
        if metrics is None:
            await self.app(scope, receive, send)
            return
        status = 500
        outcome = RequestOutcome()
        token = outcome_var.set(outcome)

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics.in_flight.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, observed_send)
        finally:
            metrics.observe(
                route_template(scope),
                scope["method"],
                status,
                time.perf_counter() - started,
                error_code=outcome.error_code,
            )
            metrics.in_flight.dec()
            outcome_var.reset(token)

    async def _traced(self, tracer: Tracer, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request inside a server span continuing the caller's trace."""
        metrics = self.metrics
        method = HttpMetrics.method_label(scope["method"])
        parent = propagate.extract(scope["headers"], getter=HEADER_GETTER)
        span = tracer.start_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes=request_attributes(scope, method),
        )
        attached = otel_context.attach(trace.set_span_in_context(span, parent))
        status = 500
        outcome = RequestOutcome()
        token = outcome_var.set(outcome)

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                span.set_attribute("http.response.status_code", status)
            await send(message)

        if metrics is not None:
            metrics.in_flight.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, observed_send)
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            if route != UNMATCHED_ROUTE:
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
            if status >= 500:
                span.set_attribute("error.type", str(status))
                span.set_status(Status(StatusCode.ERROR))
            if metrics is not None:
                context = span.get_span_context()
                metrics.observe(
                    route,
                    scope["method"],
                    status,
                    elapsed,
                    error_code=outcome.error_code,
                    trace_id=f"{context.trace_id:032x}" if context.trace_flags.sampled else None,
                )
                metrics.in_flight.dec()
            outcome_var.reset(token)
            otel_context.detach(attached)
            span.end()
