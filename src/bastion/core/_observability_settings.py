"""The metrics and tracing fields of `BastionSettings`, kept apart from `settings.py`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

__all__ = ["ObservabilitySettings"]


class ObservabilitySettings(BaseSettings):
    """The metrics and tracing fields of `BastionSettings` (its checks live there)."""

    metrics_enabled: bool = Field(
        default=True,
        description="Count and time every request and serve them at `GET /metrics` (Prometheus).",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token `GET /metrics` requires (at least 32 bytes); unset: open in development and test, 404 in production.",
    )
    metrics_dir: Path | None = Field(
        default=None,
        description="Directory every worker process writes its metrics to, summed by any worker's `/metrics` (multiprocess mode); unset: one process.",
    )
    tracing_enabled: bool = Field(
        default=True,
        description="Trace requests, SQL statements and Redis commands with OpenTelemetry (recorded once an SDK is configured).",
    )
