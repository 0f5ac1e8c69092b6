"""Observability: logging, Prometheus metrics and OpenTelemetry tracing."""

from bastion.observability.endpoint import metrics_router
from bastion.observability.feature import Observability
from bastion.observability.logging import (
    JsonFormatter,
    RequestIdFilter,
    TextFormatter,
    configure_logging,
)
from bastion.observability.metrics import LATENCY_BUCKETS, HttpMetrics
from bastion.observability.middleware import METRICS_PATH, ObservabilityMiddleware
from bastion.observability.tracing import HttpTracing

__all__ = [
    "LATENCY_BUCKETS",
    "METRICS_PATH",
    "HttpMetrics",
    "HttpTracing",
    "JsonFormatter",
    "Observability",
    "ObservabilityMiddleware",
    "RequestIdFilter",
    "TextFormatter",
    "configure_logging",
    "metrics_router",
]
