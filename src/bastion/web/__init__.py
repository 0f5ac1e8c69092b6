"""FastAPI glue: handlers, OpenAPI, DI providers (the app's `Resources`) and health routes."""

from bastion._resources import ReadinessCheck, ReadyCheck, Resources, app_resources
from bastion.web._database import (
    KeysetQuery,
    OffsetQuery,
    Uow,
    get_uow,
    keyset_params,
    offset_params,
    share_uow,
)
from bastion.web._dependencies import AppResources, AppSettings, get_resources, get_settings
from bastion.web._handlers import install_exception_handlers, validation_details
from bastion.web._health import HealthOut, ReadyOut, health_router
from bastion.web._listing import OPERATORS, list_query
from bastion.web._openapi import ErrorBody, ErrorEnvelope, error_responses, install_openapi
from bastion.web._preconditions import IfMatch, Precondition, Versioned, etag, if_match
from bastion.web._readiness import run_checks
from bastion.web._services import provide_service

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
    "Resources",
    "Uow",
    "Versioned",
    "app_resources",
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
