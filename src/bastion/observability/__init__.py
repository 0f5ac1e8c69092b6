"""Observability: logging, Prometheus metrics and OpenTelemetry tracing."""

from bastion.observability._endpoint import metrics_router
from bastion.observability._feature import Observability
from bastion.observability._logging import (
    JsonFormatter,
    RequestIdFilter,
    TextFormatter,
    configure_logging,
)
from bastion.observability._metrics import LATENCY_BUCKETS, HttpMetrics
from bastion.observability._middleware import METRICS_PATH, ObservabilityMiddleware
from bastion.observability._tracing import HttpTracing

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
