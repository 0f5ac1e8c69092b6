"""`ObservabilityMiddleware`: request metrics and the server span, as the outermost layer."""

from __future__ import annotations

from collections.abc import Awaitable
from contextvars import Token
from time import perf_counter

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.core import RequestOutcome, outcome_var
from bastion.middleware._request_id import route_template
from bastion.observability._metrics import HttpMetrics
from bastion.observability._tracing import HEADER_GETTER, HttpTracing, request_attributes
from bastion.ratelimit import TrustedProxies

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
        trusted_proxies: TrustedProxies | None = None,
    ) -> None:
        """Wrap `app`; `metrics` and `tracing` None turn their part off.

        `trusted_proxies` are the proxies whose forwarding header names the
        span's `client.address` (the address the throttles and the audit log
        use); without them it is the socket peer.
        """
        self.app = app
        self.metrics = metrics
        self.tracing = tracing
        self.trusted_proxies = trusted_proxies or TrustedProxies()
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
        tracer, metrics = self._tracer, self.metrics
        if tracer is None and metrics is None:
            await self.app(scope, receive, send)
            return
        status = 500

        # A plain function handing back `send`'s own awaitable: no coroutine
        # of its own per message.
        def observed_send(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            return send(message)

        outcome = RequestOutcome()
        token = outcome_var.set(outcome)
        span = attached = None
        if tracer is not None:
            span, attached = _start_span(tracer, scope, self.trusted_proxies)
        if metrics is not None:
            metrics.request_started()
        started = perf_counter()
        try:
            await self.app(scope, receive, observed_send)
        except BaseException as exc:
            if span is not None:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            elapsed = perf_counter() - started
            outcome_var.reset(token)
            route = route_template(scope)
            trace_id = None
            if span is not None:
                trace_id = _finish_span(span, scope, route, status)
            if attached is not None:
                otel_context.detach(attached)
            if span is not None:
                span.end()
            if metrics is not None:
                metrics.request_finished(
                    route, scope["method"], status, elapsed, outcome.error_code, trace_id
                )


def _start_span(
    tracer: Tracer, scope: Scope, trusted_proxies: TrustedProxies
) -> tuple[Span, Token[Context]]:
    """Start the request's server span, continuing the caller's trace, and make it current.

    Returns:
        The span and the token that makes it current until detached.
    """
    method = HttpMetrics.method_label(scope["method"])
    parent = propagate.extract(scope["headers"], getter=HEADER_GETTER)
    attributes = request_attributes(scope, method, trusted_proxies)
    span = tracer.start_span(method, context=parent, kind=SpanKind.SERVER, attributes=attributes)
    return span, otel_context.attach(trace.set_span_in_context(span, parent))


def _finish_span(span: Span, scope: Scope, route: str, status: int) -> str | None:
    """Name `span` after its route and give it the response's outcome.

    Returns:
        The trace id (hex) to keep as the latency exemplar, when the trace is sampled.
    """
    if route != UNMATCHED_ROUTE:
        span.update_name(f"{HttpMetrics.method_label(scope['method'])} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_attribute("error.type", str(status))
        span.set_status(Status(StatusCode.ERROR))
    context = span.get_span_context()
    return f"{context.trace_id:032x}" if context.trace_flags.sampled else None
