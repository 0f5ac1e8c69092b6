"""bastion: production batteries for FastAPI.

The names most apps need are re-exported here; each subpackage
(`bastion.core`, `bastion.web`, `bastion.middleware`, ...) exports the rest.
"""

from bastion._version import __version__
from bastion.app import create_app
from bastion.core.errors import (
    BastionError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthenticatedError,
    ValidationFailedError,
)
from bastion.core.settings import BastionSettings, Environment
from bastion.db import Base, BaseRepository, UnitOfWork
from bastion.ratelimit import RateLimit, limited_router
from bastion.resources import Resources
from bastion.web.database import Uow
from bastion.web.dependencies import AppResources, AppSettings
from bastion.web.openapi import ErrorEnvelope, error_responses

__all__ = [
    "AppResources",
    "AppSettings",
    "Base",
    "BaseRepository",
    "BastionError",
    "BastionSettings",
    "ConflictError",
    "Environment",
    "ErrorEnvelope",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitedError",
    "Resources",
    "ServiceUnavailableError",
    "UnauthenticatedError",
    "UnitOfWork",
    "Uow",
    "ValidationFailedError",
    "__version__",
    "create_app",
    "error_responses",
    "limited_router",
]
