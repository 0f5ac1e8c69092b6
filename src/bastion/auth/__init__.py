"""Authentication: users, argon2 passwords, JWT access + rotating refresh tokens, TOTP MFA, roles.

Built on `bastion.db` and `bastion.security`. The host defines its concrete
models from the mixins, hands them to `auth_router(AuthConfig(models=...))`,
and protects its own routes with `CurrentUser`, `require_roles(...)` and
`require_scopes(...)`. Every rule lives in `AuthService`, which never imports
FastAPI.
"""

from bastion.auth.audit import AUDIT_LOGGER, AuditEvent, AuditOutcome
from bastion.auth.config import AuthConfig
from bastion.auth.cookies import ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER, REFRESH_COOKIE
from bastion.auth.dependencies import (
    AuthServiceDep,
    AuthStateDep,
    CurrentUser,
    Meta,
    authenticated_user_id,
    current_user,
    get_auth_service,
    get_auth_state,
    request_meta,
    require_roles,
    require_scopes,
)
from bastion.auth.errors import (
    EmailTakenError,
    InvalidCredentialsError,
    InvalidMfaCodeError,
    MfaStateError,
    NotAuthenticatedError,
    TokenReusedError,
)
from bastion.auth.hooks import AuthHooks, RequestMeta
from bastion.auth.kit import AuthKit, AuthState
from bastion.auth.mfa import MFA_CHALLENGE_ATTEMPTS
from bastion.auth.models import (
    AuthModels,
    MfaChallengeMixin,
    RecoveryCodeMixin,
    RefreshSessionMixin,
    UserMixin,
)
from bastion.auth.origin import require_same_site
from bastion.auth.principal import IssuedTokens, MfaPending, Principal
from bastion.auth.repositories import AuthRepository, SessionRecord, UserRecord
from bastion.auth.route import NoStoreRoute
from bastion.auth.router import AUTH_ROUTES, AuthRoute, auth_router
from bastion.auth.schemas import (
    CookieSession,
    MfaCode,
    MfaRequired,
    MfaSetup,
    MfaVerify,
    NormalizedEmail,
    PasswordChange,
    RecoveryCodesOut,
    RefreshRequest,
    TokenPair,
    UserCreate,
    UserOut,
    normalize_email,
)
from bastion.auth.service import ADMIN_ROLE, AuthService, principal_from_claims
from bastion.auth.throttle import AuthThrottle, Budget

__all__ = [
    "ACCESS_COOKIE",
    "ADMIN_ROLE",
    "AUDIT_LOGGER",
    "AUTH_ROUTES",
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "MFA_CHALLENGE_ATTEMPTS",
    "REFRESH_COOKIE",
    "AuditEvent",
    "AuditOutcome",
    "AuthConfig",
    "AuthHooks",
    "AuthKit",
    "AuthModels",
    "AuthRepository",
    "AuthRoute",
    "AuthService",
    "AuthServiceDep",
    "AuthState",
    "AuthStateDep",
    "AuthThrottle",
    "Budget",
    "CookieSession",
    "CurrentUser",
    "EmailTakenError",
    "InvalidCredentialsError",
    "InvalidMfaCodeError",
    "IssuedTokens",
    "Meta",
    "MfaChallengeMixin",
    "MfaCode",
    "MfaPending",
    "MfaRequired",
    "MfaSetup",
    "MfaStateError",
    "MfaVerify",
    "NoStoreRoute",
    "NormalizedEmail",
    "NotAuthenticatedError",
    "PasswordChange",
    "Principal",
    "RecoveryCodeMixin",
    "RecoveryCodesOut",
    "RefreshRequest",
    "RefreshSessionMixin",
    "RequestMeta",
    "SessionRecord",
    "TokenPair",
    "TokenReusedError",
    "UserCreate",
    "UserMixin",
    "UserOut",
    "UserRecord",
    "auth_router",
    "authenticated_user_id",
    "current_user",
    "get_auth_service",
    "get_auth_state",
    "normalize_email",
    "principal_from_claims",
    "request_meta",
    "require_roles",
    "require_same_site",
    "require_scopes",
]
