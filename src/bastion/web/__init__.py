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
from bastion.web.openapi import ErrorBody, ErrorEnvelope, error_responses, install_openapi
from bastion.web.readiness import ReadinessCheck, ReadyCheck, run_checks
from bastion.web.responses import JSONResponse, error_response, render_error

__all__ = [
    "AppResources",
    "AppSettings",
    "ErrorBody",
    "ErrorEnvelope",
    "HealthOut",
    "JSONResponse",
    "KeysetQuery",
    "OffsetQuery",
    "ReadinessCheck",
    "ReadyCheck",
    "ReadyOut",
    "Uow",
    "error_response",
    "error_responses",
    "get_resources",
    "get_settings",
    "get_uow",
    "health_router",
    "install_exception_handlers",
    "install_openapi",
    "keyset_params",
    "offset_params",
    "render_error",
    "run_checks",
    "share_uow",
    "validation_details",
]
