"""FastAPI dependencies of the auth feature: `CurrentUser`, the services, `require_roles`, ..."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import Depends
from fastapi.params import Depends as DependsParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request

from bastion._resources import Resources, app_resources
from bastion.auth._accounts import AccountService
from bastion.auth._cookies import ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER
from bastion.auth._errors import NotAuthenticatedError
from bastion.auth._hooks import RequestMeta
from bastion.auth._mfa import MfaService
from bastion.auth._principal import Principal
from bastion.auth._runtime import AuthRuntime
from bastion.auth._sessions import SessionService
from bastion.db import UnitOfWork
from bastion.errors import PermissionDeniedError, ServiceUnavailableError
from bastion.ratelimit import client_ip, report_rate_limit
from bastion.security import CsrfFailedError
from bastion.web import AppResources, Uow

__all__ = [
    "AccountServiceDep",
    "AuthRuntimeDep",
    "CurrentUser",
    "Meta",
    "MfaServiceDep",
    "SessionServiceDep",
    "authenticated_user_id",
    "current_user",
    "request_meta",
    "require_roles",
    "require_scopes",
]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_USER_AGENT_MAX = 255


async def _auth_runtime(resources: AppResources) -> AuthRuntime:
    """The running app's auth feature.

    Raises:
        ServiceUnavailableError: No auth feature is mounted (or the lifespan did not run).
    """
    if resources.auth is None:
        raise ServiceUnavailableError("Authentication is not configured.")
    return resources.auth


#: The running app's `AuthRuntime` (503 `SERVICE_UNAVAILABLE` when no auth feature is mounted).
AuthRuntimeDep = Annotated[AuthRuntime, Depends(_auth_runtime)]


async def request_meta(request: Request, resources: AppResources) -> RequestMeta:
    """The client address (behind trusted proxies only) and user agent of the request."""
    agent = request.headers.get("user-agent")
    return RequestMeta(
        ip=client_ip(request, resources.trusted_proxies),
        user_agent=agent[:_USER_AGENT_MAX] if agent else None,
    )


#: The request's `RequestMeta`.
Meta = Annotated[RequestMeta, Depends(request_meta)]


# The services, on the request's unit of work: their throttles report to the
# response's `RateLimit-*` headers, their audit events name the request's client.
async def _account_service(
    request: Request, uow: Uow, auth: AuthRuntimeDep, resources: AppResources, meta: Meta
) -> AccountService:
    report = partial(report_rate_limit, request.scope)
    return auth.accounts(uow, resources.limiter, report=report, meta=meta)


async def _mfa_service(
    request: Request, uow: Uow, auth: AuthRuntimeDep, resources: AppResources, meta: Meta
) -> MfaService:
    report = partial(report_rate_limit, request.scope)
    return auth.mfa(uow, resources.limiter, report=report, meta=meta)


async def _session_service(uow: Uow, auth: AuthRuntimeDep, meta: Meta) -> SessionService:
    return auth.sessions(uow, meta=meta)


#: The request's `AccountService` (registration, login, passwords, users, roles).
AccountServiceDep = Annotated[AccountService, Depends(_account_service)]
#: The request's `MfaService` (TOTP setup, enable, disable, the login's second factor).
MfaServiceDep = Annotated[MfaService, Depends(_mfa_service)]
#: The request's `SessionService` (refresh, logout).
SessionServiceDep = Annotated[SessionService, Depends(_session_service)]


#: The Bearer scheme of `current_user`: FastAPI lists it in the OpenAPI document
#: (`securitySchemes`, and `security` on every operation that needs a caller).
_bearer_scheme = HTTPBearer(
    auto_error=False, description="An access token from `POST /auth/login` or `/auth/refresh`."
)
_Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)]


def _resources(request: Request) -> Resources:
    # Read directly (no sub-dependencies): this runs on every authenticated request.
    resources = app_resources(request.app)
    if resources is None:
        raise ServiceUnavailableError("The application has not finished starting.")
    return resources


async def current_user(request: Request, uow: Uow, bearer: _Bearer = None) -> Principal:
    """Authenticate the request by its Bearer token (or, in cookie mode, its access cookie).

    Unless tokens are stateless, the token's session is checked to be live
    with one primary-key read in `uow`, the request's own unit of work (the
    one `Uow` gives the endpoint): no second connection, and the endpoint's
    own statements follow in the same transaction.

    A cookie-authenticated unsafe request must also carry the CSRF token in
    `X-CSRF-Token`, matching the CSRF cookie and signed for the session.

    Raises:
        NotAuthenticatedError: No credentials (401 `NOT_AUTHENTICATED`, `WWW-Authenticate: Bearer`).
        InvalidTokenError: Bad, expired or revoked credentials (401 `INVALID_TOKEN`).
        CsrfFailedError: Cookie mode, unsafe method, CSRF token missing or wrong (403).
        ServiceUnavailableError: No auth feature is mounted.
        DatabaseUnavailableError: The session check cannot reach the database (503).
    """
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):  # authenticated earlier in this request (`by_user`)
        return known
    auth = _resources(request).auth
    if auth is None:
        raise ServiceUnavailableError("Authentication is not configured.")
    token = bearer.credentials.strip() if bearer is not None else None
    from_cookie = False
    if not token and auth.cookie_mode:
        token = request.cookies.get(ACCESS_COOKIE)
        from_cookie = token is not None
    if not token:
        raise NotAuthenticatedError()
    principal = await auth.sessions(uow).authenticate(token)
    if from_cookie and request.method not in _SAFE_METHODS:
        header = request.headers.get(CSRF_HEADER)
        cookie = request.cookies.get(CSRF_COOKIE)
        if not auth.csrf.verify_double_submit(header, cookie, str(principal.session_id)):
            raise CsrfFailedError()
    request.state.user_id = str(principal.id)
    request.state.principal = principal
    return principal


async def authenticated_user_id(request: Request) -> str:
    """The id of the request's authenticated user, as `current_user` finds it.

    The auth feature's `Resources.user_resolver`: `by_user` rate limits call
    it when no dependency authenticated the request before them. Outside
    dependency injection, it checks the session in a short read-only unit of
    work of its own (a limit listed after `CurrentUser` finds the user known).

    Raises:
        NotAuthenticatedError: No credentials (401).
        InvalidTokenError: Bad, expired or revoked credentials (401).
    """
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):
        return str(known.id)
    sessionmaker = _resources(request).read_sessionmaker
    if sessionmaker is None:
        raise ServiceUnavailableError("The database is not configured.")
    async with UnitOfWork(sessionmaker) as uow:
        principal = await current_user(request, uow, await _bearer_scheme(request))
    return str(principal.id)


CurrentUser = Annotated[Principal, Depends(current_user)]
"""The authenticated caller: `Annotated[Principal, Depends(current_user)]`.

401 `NOT_AUTHENTICATED` without credentials, `INVALID_TOKEN` with bad, expired or
revoked ones.
"""


def require_roles(*roles: str) -> DependsParam:
    """A dependency that lets through only callers holding every one of `roles`.

    ```python
    @router.get("/admin/users", dependencies=[require_roles("admin")])
    ```

    Raises:
        PermissionDeniedError: 403 `FORBIDDEN` for an authenticated caller without them.
    """
    wanted = frozenset(roles)

    async def check(principal: CurrentUser) -> Principal:
        if not principal.roles.issuperset(wanted):
            raise PermissionDeniedError()
        return principal

    dependency: DependsParam = Depends(check)
    return dependency


def require_scopes(*scopes: str) -> DependsParam:
    """A dependency that lets through only tokens granting every one of `scopes`.

    Scopes come from the access token's space-separated `scope` claim (set it
    with `AuthHooks.access_claims`).

    Raises:
        PermissionDeniedError: 403 `FORBIDDEN` when a scope is missing.
    """
    wanted = frozenset(scopes)

    async def check(principal: CurrentUser) -> Principal:
        if not principal.scopes.issuperset(wanted):
            raise PermissionDeniedError()
        return principal

    dependency: DependsParam = Depends(check)
    return dependency
