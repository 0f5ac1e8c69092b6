"""Observability: logging (metrics and tracing as later capabilities add them)."""

from bastion.observability.logging import (
    JsonFormatter,
    RequestIdFilter,
    TextFormatter,
    configure_logging,
)

__all__ = ["JsonFormatter", "RequestIdFilter", "TextFormatter", "configure_logging"]
