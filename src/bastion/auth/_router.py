"""The auth HTTP routes (`Auth.router`), thin over the auth services."""

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Literal, get_args

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.params import Depends as DependsParam
from pydantic import BaseModel

from bastion.auth._cookies import (
    clear_auth_cookies,
    refresh_cookie_path,
    refresh_cookie_token,
    tokens_response,
)
from bastion.auth._dependencies import (
    AccountServiceDep,
    AuthRuntimeDep,
    CurrentUser,
    Meta,
    MfaServiceDep,
    SessionServiceDep,
    current_user,
)
from bastion.auth._errors import NotAuthenticatedError
from bastion.auth._forms import LoginForm
from bastion.auth._origin import SameSiteOrigin
from bastion.auth._principal import MfaPending
from bastion.auth._route import NoStoreRoute
from bastion.auth._runtime import AuthRuntime
from bastion.auth._schemas import (
    CookieSession,
    MfaCode,
    MfaRequired,
    MfaSetup,
    MfaVerify,
    PasswordChange,
    RecoveryCodesOut,
    RefreshRequest,
    TokenPair,
    UserCreate,
)
from bastion.auth._sessions import SessionService
from bastion.db import UnitOfWork
from bastion.errors import UnauthenticatedError
from bastion.security import InvalidTokenError
from bastion.web import Uow, error_responses

if TYPE_CHECKING:
    from bastion.auth._feature import Auth

__all__ = ["AUTH_ROUTES", "AuthRoute", "auth_routes"]

#: The names of the routes `Auth` builds (for `disabled=` and `dependencies=`).
AuthRoute = Literal[
    "register",
    "login",
    "mfa_verify",
    "refresh",
    "logout",
    "me",
    "password",
    "mfa_setup",
    "mfa_enable",
    "mfa_disable",
]
#: Every route name, in the order above.
AUTH_ROUTES: tuple[AuthRoute, ...] = get_args(AuthRoute)

#: The routes a browser reaches with credentials alone, before any session exists.
_CREDENTIAL_ROUTES: frozenset[AuthRoute] = frozenset({"register", "login", "mfa_verify"})


async def _logout_by_cookie(
    request: Request, service: SessionService, auth: AuthRuntime, uow: UnitOfWork
) -> None:
    """Log out the access cookie's session, or else the refresh cookie's (CSRF checked).

    The access cookie comes first: a `__Host-` cookie, only this origin can
    have set it. The refresh cookie serves once the browser dropped the access
    cookie, after its 15 minutes.
    """
    try:
        principal = await current_user(request, uow)
    except UnauthenticatedError:
        token = await refresh_cookie_token(request, service, auth)
        if token is None:
            raise
        await service.logout(token)
    else:
        await service.logout_session(principal.id, principal.session_id)


def auth_routes(
    feature: "Auth",
    *,
    prefix: str,
    disabled: frozenset[AuthRoute],
    dependencies: Mapping[AuthRoute, Sequence[DependsParam]],
    tags: list[str],
) -> APIRouter:
    """Build the auth routes of `feature`: register, login, MFA, refresh, logout, me, password.

    Args:
        feature: The auth feature (its schemas, and its lifespan for the router's).
        prefix: The routes' prefix in the router.
        disabled: Routes not to build.
        dependencies: Extra dependencies per route.
        tags: OpenAPI tags.

    Returns:
        The router; its lifespan starts the feature (`Auth.lifespan`).
    """
    router = APIRouter(
        prefix=prefix, tags=list(tags), route_class=NoStoreRoute, lifespan=feature.lifespan
    )

    def add(name: AuthRoute, path: str, method: str, **options: object) -> Callable[..., object]:
        # Refuse other sites first (login CSRF, cookie mode): no session guards these yet.
        checks = [SameSiteOrigin] if name in _CREDENTIAL_ROUTES else []

        def register(endpoint: Callable[..., object]) -> Callable[..., object]:
            if name not in disabled:
                router.add_api_route(
                    path,
                    endpoint,
                    methods=[method],
                    name=f"auth_{name}",
                    dependencies=[*checks, *dependencies.get(name, ())],
                    **options,  # type: ignore[arg-type]  # add_api_route's keyword arguments
                )
            return endpoint

        return register

    user_schema = feature.user_schema
    token_model = TokenPair | CookieSession

    @add(
        "register",
        "/register",
        "POST",
        status_code=status.HTTP_201_CREATED,
        response_model=user_schema,
        responses=error_responses(403, 409, 422, 429, 503),
        summary="Create an account",
    )
    async def register(data: UserCreate, service: AccountServiceDep, meta: Meta) -> BaseModel:
        return await service.register(data, user_schema, meta)

    register.__annotations__["data"] = feature.user_create_schema

    @add(
        "login",
        "/login",
        "POST",
        response_model=TokenPair | MfaRequired | CookieSession,
        responses=error_responses(401, 403, 422, 429, 503),
        summary="Log in with e-mail and password (OAuth2 password form)",
    )
    async def login(
        request: Request,
        form: Annotated[LoginForm, Depends()],
        service: AccountServiceDep,
        auth: AuthRuntimeDep,
        meta: Meta,
        response: Response,
    ) -> TokenPair | MfaRequired | CookieSession:
        result = await service.login(form.username, form.password, meta)
        if isinstance(result, MfaPending):
            return MfaRequired(mfa_token=result.mfa_token)
        return tokens_response(auth, result, response, refresh_cookie_path(request, "/login"))

    @add(
        "mfa_verify",
        "/mfa/verify",
        "POST",
        response_model=token_model,
        responses=error_responses(401, 403, 422, 429, 503),
        summary="Finish a login with a TOTP or recovery code",
    )
    async def mfa_verify(
        request: Request,
        data: MfaVerify,
        service: MfaServiceDep,
        auth: AuthRuntimeDep,
        meta: Meta,
        response: Response,
    ) -> TokenPair | CookieSession:
        issued = await service.verify_mfa(data.mfa_token, data.code, meta)
        return tokens_response(auth, issued, response, refresh_cookie_path(request, "/mfa/verify"))

    @add(
        "refresh",
        "/refresh",
        "POST",
        response_model=token_model,
        responses=error_responses(401, 403, 422, 503),
        summary="Rotate a refresh token for a new token pair",
    )
    async def refresh(
        request: Request,
        service: SessionServiceDep,
        auth: AuthRuntimeDep,
        meta: Meta,
        response: Response,
        data: RefreshRequest | None = None,
    ) -> TokenPair | CookieSession:
        token = data.refresh_token if data is not None else None
        if token is None and auth.cookie_mode:
            token = await refresh_cookie_token(request, service, auth)
        if token is None:
            raise InvalidTokenError("missing")
        issued = await service.refresh(token, meta)
        return tokens_response(auth, issued, response, refresh_cookie_path(request, "/refresh"))

    @add(
        "logout",
        "/logout",
        "POST",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses(401, 403, 422, 503),
        summary="Log out this session",
    )
    async def logout(
        request: Request,
        service: SessionServiceDep,
        auth: AuthRuntimeDep,
        uow: Uow,
        data: RefreshRequest | None = None,
    ) -> Response:
        response = Response(status_code=status.HTTP_204_NO_CONTENT)
        if data is not None:
            await service.logout(data.refresh_token)
        elif not auth.cookie_mode:
            raise NotAuthenticatedError()
        else:
            await _logout_by_cookie(request, service, auth, uow)
        if auth.cookie_mode:
            clear_auth_cookies(response, refresh_path=refresh_cookie_path(request, "/logout"))
        return response

    @add(
        "me",
        "/me",
        "GET",
        response_model=user_schema,
        responses=error_responses(401, 503),
        summary="The current user",
    )
    async def me(principal: CurrentUser, service: AccountServiceDep) -> BaseModel:
        return await service.load_user(principal.id, user_schema)

    @add(
        "password",
        "/password",
        "POST",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses(401, 403, 422, 429, 503),
        summary="Change the password (other sessions are revoked)",
    )
    async def password(
        data: PasswordChange, principal: CurrentUser, service: AccountServiceDep, meta: Meta
    ) -> Response:
        await service.change_password(principal, data.current_password, data.new_password, meta)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @add(
        "mfa_setup",
        "/mfa/setup",
        "POST",
        response_model=MfaSetup,
        responses=error_responses(401, 403, 409, 503),
        summary="Start TOTP setup: a new secret to scan",
    )
    async def mfa_setup(principal: CurrentUser, service: MfaServiceDep) -> MfaSetup:
        return await service.setup_mfa(principal)

    @add(
        "mfa_enable",
        "/mfa/enable",
        "POST",
        response_model=RecoveryCodesOut,
        responses=error_responses(401, 403, 409, 422, 429, 503),
        summary="Confirm TOTP setup and receive recovery codes",
    )
    async def mfa_enable(
        data: MfaCode, principal: CurrentUser, service: MfaServiceDep
    ) -> RecoveryCodesOut:
        return await service.enable_mfa(principal, data.code)

    @add(
        "mfa_disable",
        "/mfa/disable",
        "POST",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=error_responses(401, 403, 409, 422, 429, 503),
        summary="Turn MFA off with a TOTP or recovery code",
    )
    async def mfa_disable(
        data: MfaCode, principal: CurrentUser, service: MfaServiceDep
    ) -> Response:
        await service.disable_mfa(principal, data.code)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
