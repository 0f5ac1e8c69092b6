"""Framework-free core: settings, request context and path-prefix tables."""

from bastion.core._paths import PathTable, PrefixSet, any_prefix, matches_prefix
from bastion.core.context import get_request_id, request_id_var
from bastion.core.deadline import lift_deadline, request_deadline_var
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
    "BastionSettings",
    "Environment",
    "JwtAlgorithm",
    "PathTable",
    "PrefixSet",
    "RequestOutcome",
    "any_prefix",
    "get_request_id",
    "lift_deadline",
    "matches_prefix",
    "outcome_var",
    "record_error_code",
    "request_deadline_var",
    "request_id_var",
]
