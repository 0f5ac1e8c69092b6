"""Framework-free core: settings, the error hierarchy and request context."""

from bastion.core.context import get_request_id, request_id_var
from bastion.core.deadline import lift_deadline, request_deadline_var
from bastion.core.errors import (
    BadRequestError,
    BastionError,
    ConflictError,
    ErrorDetails,
    GatewayTimeoutError,
    MethodNotAllowedError,
    NotFoundError,
    NotReadyError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthenticatedError,
    ValidationFailedError,
)
from bastion.core.outcome import RequestOutcome, outcome_var, record_error_code
from bastion.core.settings import (
    DEFAULT_DATABASE_URL,
    DEFAULT_SECRET_KEY,
    MIN_METRICS_TOKEN_BYTES,
    MIN_SECRET_KEY_BYTES,
    BastionSettings,
    Environment,
    JwtAlgorithm,
)

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_SECRET_KEY",
    "MIN_METRICS_TOKEN_BYTES",
    "MIN_SECRET_KEY_BYTES",
    "BadRequestError",
    "BastionError",
    "BastionSettings",
    "ConflictError",
    "Environment",
    "ErrorDetails",
    "GatewayTimeoutError",
    "JwtAlgorithm",
    "MethodNotAllowedError",
    "NotFoundError",
    "NotReadyError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitedError",
    "RequestOutcome",
    "ServiceUnavailableError",
    "UnauthenticatedError",
    "ValidationFailedError",
    "get_request_id",
    "lift_deadline",
    "outcome_var",
    "record_error_code",
    "request_deadline_var",
    "request_id_var",
]
