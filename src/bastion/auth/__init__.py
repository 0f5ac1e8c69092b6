"""Authentication: users, argon2 passwords, JWT access + rotating refresh tokens, TOTP MFA, roles.

Built on `bastion.db` and `bastion.security`. The host defines its concrete
models from the mixins, wires ONE object, the feature `Auth(user=..., session=...)`,
whose `router` goes into `create_app(routers=[...])`, and protects its own
routes with `CurrentUser`, `require_roles(...)` and `require_scopes(...)`.

The rules live in three collaborating services that never import FastAPI:
`AccountService` (registration, login, passwords, users and roles),
`SessionService` (tokens, refresh rotation with reuse detection, logout, the
live-session check) and `MfaService` (TOTP and recovery codes). They share
the app's `AuthRuntime` (on `Resources.auth`), the request's unit of work
and the `AuthRepository` by composition.
"""

from bastion.auth._accounts import ADMIN_ROLE, AccountService
from bastion.auth._audit import AUDIT_LOGGER, AuditEvent, AuditOutcome, AuditTrail
from bastion.auth._cookies import ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER, REFRESH_COOKIE
from bastion.auth._dependencies import (
    AccountServiceDep,
    AuthRuntimeDep,
    CurrentUser,
    Meta,
    MfaServiceDep,
    SessionServiceDep,
    authenticated_user_id,
    current_user,
    request_meta,
    require_roles,
    require_scopes,
)
from bastion.auth._errors import (
    EmailTakenError,
    InvalidCredentialsError,
    InvalidMfaCodeError,
    MfaStateError,
    NotAuthenticatedError,
    TokenReusedError,
)
from bastion.auth._feature import Auth
from bastion.auth._hooks import AuthHooks, RequestMeta
from bastion.auth._mfa import MFA_CHALLENGE_ATTEMPTS, MfaService
from bastion.auth._mfa_repository import MfaRepository
from bastion.auth._models import (
    AuthModels,
    MfaChallengeMixin,
    RecoveryCodeMixin,
    RefreshSessionMixin,
    UserMixin,
)
from bastion.auth._origin import require_same_site
from bastion.auth._principal import IssuedTokens, MfaPending, Principal
from bastion.auth._records import SessionRecord, UserRecord
from bastion.auth._repositories import AuthRepository
from bastion.auth._route import NoStoreRoute
from bastion.auth._router import AUTH_ROUTES, AuthRoute
from bastion.auth._runtime import AuthRuntime
from bastion.auth._schemas import (
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
from bastion.auth._sessions import SessionService, principal_from_claims
from bastion.auth._throttle import AuthThrottle, Budget

__all__ = [
    "ACCESS_COOKIE",
    "ADMIN_ROLE",
    "AUDIT_LOGGER",
    "AUTH_ROUTES",
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "MFA_CHALLENGE_ATTEMPTS",
    "REFRESH_COOKIE",
    "AccountService",
    "AccountServiceDep",
    "AuditEvent",
    "AuditOutcome",
    "AuditTrail",
    "Auth",
    "AuthHooks",
    "AuthModels",
    "AuthRepository",
    "AuthRoute",
    "AuthRuntime",
    "AuthRuntimeDep",
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
    "MfaRepository",
    "MfaRequired",
    "MfaService",
    "MfaServiceDep",
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
    "SessionService",
    "SessionServiceDep",
    "TokenPair",
    "TokenReusedError",
    "UserCreate",
    "UserMixin",
    "UserOut",
    "UserRecord",
    "authenticated_user_id",
    "current_user",
    "normalize_email",
    "principal_from_claims",
    "request_meta",
    "require_roles",
    "require_same_site",
    "require_scopes",
]
