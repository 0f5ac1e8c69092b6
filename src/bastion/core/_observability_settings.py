"""The metrics and tracing fields of `BastionSettings` and their check, kept apart from `_settings.py`."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

__all__ = ["MIN_METRICS_TOKEN_BYTES", "ObservabilitySettings"]

#: The shortest `/metrics` bearer token accepted, in UTF-8 bytes (in every environment).
MIN_METRICS_TOKEN_BYTES = 32


class ObservabilitySettings(BaseSettings):
    """The metrics and tracing fields of `BastionSettings`, and the check of its token."""

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

    @model_validator(mode="after")
    def _check_observability(self) -> Self:
        token = self.metrics_token
        if token is not None and len(token.get_secret_value().encode()) < MIN_METRICS_TOKEN_BYTES:
            prefix = self.model_config.get("env_prefix", "")
            raise ValueError(
                f"{prefix}METRICS_TOKEN must be a random value of at least "
                f"{MIN_METRICS_TOKEN_BYTES} bytes"
            )
        return self
