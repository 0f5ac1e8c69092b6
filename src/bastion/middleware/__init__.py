"""Pure-ASGI middleware: request ids and the error catch-all."""

from bastion.middleware.errors import ErrorEnvelopeMiddleware
from bastion.middleware.request_id import (
    RequestIdConfig,
    RequestIdMiddleware,
    is_valid_request_id,
)

__all__ = [
    "ErrorEnvelopeMiddleware",
    "RequestIdConfig",
    "RequestIdMiddleware",
    "is_valid_request_id",
]
