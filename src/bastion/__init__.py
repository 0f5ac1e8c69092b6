"""bastion: production batteries for FastAPI.

The names most apps need are re-exported here; each subpackage
(`bastion.core`, `bastion.web`, `bastion.middleware`, ...) exports the rest.
"""

from bastion._resources import Resources
from bastion._version import __version__
from bastion.app import create_app
from bastion.auth import (
    Auth,
    AuthModels,
    CurrentUser,
    RefreshSessionMixin,
    UserMixin,
    require_roles,
)
from bastion.core import BastionSettings, Environment
from bastion.db import (
    Base,
    BaseRepository,
    Eq,
    KeysetPage,
    ListParams,
    TimestampMixin,
    UnitOfWork,
    UUIDPrimaryKeyMixin,
    VersionMixin,
)
from bastion.errors import (
    BastionError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthenticatedError,
    ValidationFailedError,
)
from bastion.ratelimit import RateLimit, by_user, limited_router
from bastion.web import (
    AppResources,
    AppSettings,
    ErrorEnvelope,
    IfMatch,
    KeysetQuery,
    Uow,
    error_responses,
    list_query,
    provide_service,
)

__all__ = [
    "AppResources",
    "AppSettings",
    "Auth",
    "AuthModels",
    "Base",
    "BaseRepository",
    "BastionError",
    "BastionSettings",
    "ConflictError",
    "CurrentUser",
    "Environment",
    "Eq",
    "ErrorEnvelope",
    "IfMatch",
    "KeysetPage",
    "KeysetQuery",
    "ListParams",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimit",
    "RateLimitedError",
    "RefreshSessionMixin",
    "Resources",
    "ServiceUnavailableError",
    "TimestampMixin",
    "UUIDPrimaryKeyMixin",
    "UnauthenticatedError",
    "UnitOfWork",
    "Uow",
    "UserMixin",
    "ValidationFailedError",
    "VersionMixin",
    "__version__",
    "by_user",
    "create_app",
    "error_responses",
    "limited_router",
    "list_query",
    "provide_service",
    "require_roles",
]
