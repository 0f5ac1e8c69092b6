"""Framework-free core: settings, request context and path-prefix tables."""

from bastion.core._context import get_request_id, request_id_var
from bastion.core._deadline import lift_deadline, request_deadline_var
from bastion.core._outcome import RequestOutcome, outcome_var, record_error_code
from bastion.core._paths import PathTable
from bastion.core._setting_types import OptionalRateLimitSetting, RateLimitSetting
from bastion.core._settings import (
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
    "BastionSettings",
    "Environment",
    "JwtAlgorithm",
    "OptionalRateLimitSetting",
    "PathTable",
    "RateLimitSetting",
    "RequestOutcome",
    "get_request_id",
    "lift_deadline",
    "outcome_var",
    "record_error_code",
    "request_deadline_var",
    "request_id_var",
]
