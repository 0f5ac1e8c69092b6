"""bastion: production batteries for FastAPI.

The names an app is built from are re-exported here: the app factory, the auth
feature, the persistence building blocks, lists, preconditions and rate limits.
Each subpackage exports the rest through its own `__all__`: the errors from
`bastion.errors`, settings from `bastion.core`, dependency aliases and the app's
`Resources` from `bastion.web`, and so on (docs/architecture.md lists them).
"""

from bastion._version import __version__ as __version__
from bastion.app import create_app
from bastion.auth import Auth, CurrentUser, RefreshSessionMixin, UserMixin
from bastion.db import (
    Base,
    BaseRepository,
    EntityMixin,
    KeysetPage,
    ListParams,
    UnitOfWork,
)
from bastion.ratelimit import RateLimit
from bastion.web import IfMatch, list_query, provide_service

__all__ = [
    "Auth",
    "Base",
    "BaseRepository",
    "CurrentUser",
    "EntityMixin",
    "IfMatch",
    "KeysetPage",
    "ListParams",
    "RateLimit",
    "RefreshSessionMixin",
    "UnitOfWork",
    "UserMixin",
    "create_app",
    "list_query",
    "provide_service",
]
