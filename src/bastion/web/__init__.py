"""FastAPI glue: envelope rendering, handlers, OpenAPI, DI providers and health routes."""

from bastion.web.database import (
    KeysetQuery,
    OffsetQuery,
    Uow,
    get_uow,
    keyset_params,
    offset_params,
    share_uow,
)
from bastion.web.dependencies import AppResources, AppSettings, get_resources, get_settings
from bastion.web.handlers import install_exception_handlers, validation_details
from bastion.web.health import HealthOut, ReadyOut, health_router
from bastion.web.listing import OPERATORS, list_query
from bastion.web.openapi import ErrorBody, ErrorEnvelope, error_responses, install_openapi
from bastion.web.preconditions import IfMatch, Precondition, Versioned, etag, if_match
from bastion.web.readiness import ReadinessCheck, ReadyCheck, run_checks
from bastion.web.services import provide_service

__all__ = [
    "OPERATORS",
    "AppResources",
    "AppSettings",
    "ErrorBody",
    "ErrorEnvelope",
    "HealthOut",
    "IfMatch",
    "KeysetQuery",
    "OffsetQuery",
    "Precondition",
    "ReadinessCheck",
    "ReadyCheck",
    "ReadyOut",
    "Uow",
    "Versioned",
    "error_responses",
    "etag",
    "get_resources",
    "get_settings",
    "get_uow",
    "health_router",
    "if_match",
    "install_exception_handlers",
    "install_openapi",
    "keyset_params",
    "list_query",
    "offset_params",
    "provide_service",
    "run_checks",
    "share_uow",
    "validation_details",
]
