"""`auth_router(...)`: the auth HTTP routes, thin over `AuthService`."""

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Request, Response, status
from fastapi.params import Depends as DependsParam
from pydantic import BaseModel

from bastion.auth.config import AuthConfig
from bastion.auth.cookies import (
    CSRF_COOKIE,
    CSRF_HEADER,
    REFRESH_COOKIE,
    clear_auth_cookies,
    set_auth_cookies,
)
from bastion.auth.dependencies import (
    AuthServiceDep,
    AuthStateDep,
    CurrentUser,
    Meta,
    authenticated_user_id,
    current_user,
)
from bastion.auth.errors import NotAuthenticatedError
from bastion.auth.forms import LoginForm
from bastion.auth.kit import AuthKit, AuthState
from bastion.auth.origin import SameSiteOrigin
from bastion.auth.principal import IssuedTokens, MfaPending
from bastion.auth.route import NoStoreRoute
from bastion.auth.schemas import (
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
from bastion.security import CsrfFailedError, InvalidTokenError
from bastion.web.database import Uow
from bastion.web.openapi import error_responses

__all__ = ["AUTH_ROUTES", "AuthRoute", "auth_router"]

#: The names of the routes `auth_router` builds (for `disabled=` and `dependencies=`).
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
AUTH_ROUTES: tuple[AuthRoute, ...] = (
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
)

#: The routes that need the MFA models (`AuthModels.recovery_code`, `.mfa_challenge`).
_MFA_ROUTES: frozenset[AuthRoute] = frozenset(
    {"mfa_verify", "mfa_setup", "mfa_enable", "mfa_disable"}
)
#: The routes a browser reaches with credentials alone, before any session exists.
_CREDENTIAL_ROUTES: frozenset[AuthRoute] = frozenset({"register", "login", "mfa_verify"})


def _refresh_path(request: Request, own_path: str) -> str:
    """The refresh route's path as clients reach it (the refresh cookie's `Path`).

    The auth routes have no path parameters, so the request's path is the
    calling route's own path (`own_path`, e.g. `/login`) behind every prefix
    the router sits under: its own, those it was included with (at any
    depth), the API prefix and the ASGI root path. The refresh route sits
    behind the same ones.
    """
    path: str = request.scope["path"]
    return path.removesuffix(own_path) + "/refresh"


def _tokens(
    state: AuthState, issued: IssuedTokens, response: Response, refresh_path: str
) -> TokenPair | CookieSession:
    kit = state.kit
    if not kit.cookie_mode:
        return TokenPair(
            access_token=issued.access_token,
            refresh_token=issued.refresh_token,
            expires_in=issued.expires_in,
        )
    csrf_token = kit.csrf.generate(str(issued.session_id))
    set_auth_cookies(
        response,
        issued,
        csrf_token=csrf_token,
        refresh_path=refresh_path,
        refresh_max_age=kit.refresh_ttl,
    )
    return CookieSession(expires_in=issued.expires_in, csrf_token=csrf_token)


def auth_router(
    config: AuthConfig,
    *,
    prefix: str = "/auth",
    disabled: Sequence[AuthRoute] = (),
    dependencies: Mapping[AuthRoute, Sequence[DependsParam]] | None = None,
    tags: Sequence[str] = ("auth",),
) -> APIRouter:
    """Build the auth routes: register, login, MFA, refresh, logout, me, password.

    ```python
    create_app(settings, routers=[auth_router(AuthConfig(models=AUTH_MODELS))])
    ```

    Args:
        config: The host's models, hooks and schemas.
        prefix: Where the routes live in the router (`/auth`, so `/api/v1/auth` once
            `create_app` mounts it); the router may be included under further prefixes.
        disabled: Routes not to build (e.g. `("register",)` for invite-only apps).
            Without the MFA models (`AuthModels`), the MFA routes are never built.
        dependencies: Extra dependencies per route (e.g. a stricter `RateLimit`).
        tags: OpenAPI tags.

    Returns:
        The router; its lifespan puts the auth feature on `Resources.auth`.
    """
    extra = dict(dependencies or {})
    off = frozenset(disabled)
    unknown = off.union(extra) - set(AUTH_ROUTES)
    if unknown:
        raise ValueError(f"unknown auth routes: {sorted(unknown)}")
    if not config.models.mfa:
        off |= _MFA_ROUTES  # a host without the MFA models has no MFA

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = app.state.resources
        kit = AuthKit.from_settings(
            resources.settings, clock=config.clock, password_checks=config.password_checks
        )
        # The dummy hash for unknown e-mails is made now, so the first one costs one verify.
        await kit.hasher.warm_up()
        resources.auth = AuthState(kit=kit, models=config.models, hooks=config.hooks)
        resources.user_resolver = authenticated_user_id  # `by_user` limits authenticate with it
        yield

    router = APIRouter(prefix=prefix, tags=list(tags), route_class=NoStoreRoute, lifespan=lifespan)

    def add(name: AuthRoute, path: str, method: str, **options: object) -> Callable[..., object]:
        # Refuse other sites first (login CSRF, cookie mode): no session guards these yet.
        checks = [SameSiteOrigin] if name in _CREDENTIAL_ROUTES else []

        def register(endpoint: Callable[..., object]) -> Callable[..., object]:
            if name not in off:
                router.add_api_route(
                    path,
                    endpoint,
                    methods=[method],
                    name=f"auth_{name}",
                    dependencies=[*checks, *extra.get(name, ())],
                    **options,  # type: ignore[arg-type]  # add_api_route's keyword arguments
                )
            return endpoint

        return register

    user_schema = config.user_schema
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
    async def register(data: UserCreate, service: AuthServiceDep, meta: Meta) -> BaseModel:
        return await service.register(data, user_schema, meta)

    register.__annotations__["data"] = config.user_create_schema

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
        service: AuthServiceDep,
        state: AuthStateDep,
        meta: Meta,
        response: Response,
    ) -> TokenPair | MfaRequired | CookieSession:
        result = await service.login(form.username, form.password, meta)
        if isinstance(result, MfaPending):
            return MfaRequired(mfa_token=result.mfa_token)
        return _tokens(state, result, response, _refresh_path(request, "/login"))

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
        service: AuthServiceDep,
        state: AuthStateDep,
        meta: Meta,
        response: Response,
    ) -> TokenPair | CookieSession:
        issued = await service.verify_mfa(data.mfa_token, data.code, meta)
        return _tokens(state, issued, response, _refresh_path(request, "/mfa/verify"))

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
        service: AuthServiceDep,
        state: AuthStateDep,
        meta: Meta,
        response: Response,
        data: RefreshRequest | None = None,
    ) -> TokenPair | CookieSession:
        token = data.refresh_token if data is not None else None
        if token is None and state.kit.cookie_mode:
            token = request.cookies.get(REFRESH_COOKIE)
            if token is not None:
                family = await service.session_of_refresh_token(token)
                header = request.headers.get(CSRF_HEADER)
                cookie = request.cookies.get(CSRF_COOKIE)
                if family is not None and not state.kit.csrf.verify_double_submit(
                    header, cookie, str(family)
                ):
                    raise CsrfFailedError()
        if token is None:
            raise InvalidTokenError("missing")
        issued = await service.refresh(token, meta)
        return _tokens(state, issued, response, _refresh_path(request, "/refresh"))

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
        service: AuthServiceDep,
        state: AuthStateDep,
        uow: Uow,
        data: RefreshRequest | None = None,
    ) -> Response:
        response = Response(status_code=status.HTTP_204_NO_CONTENT)
        if data is not None:
            await service.logout(data.refresh_token)
        elif state.kit.cookie_mode:
            principal = await current_user(request, uow)
            await service.logout_session(principal.id, principal.session_id)
        else:
            raise NotAuthenticatedError()
        if state.kit.cookie_mode:
            clear_auth_cookies(response, refresh_path=_refresh_path(request, "/logout"))
        return response

    @add(
        "me",
        "/me",
        "GET",
        response_model=user_schema,
        responses=error_responses(401, 503),
        summary="The current user",
    )
    async def me(principal: CurrentUser, service: AuthServiceDep) -> BaseModel:
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
        data: PasswordChange, principal: CurrentUser, service: AuthServiceDep, meta: Meta
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
    async def mfa_setup(principal: CurrentUser, service: AuthServiceDep) -> MfaSetup:
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
        data: MfaCode, principal: CurrentUser, service: AuthServiceDep
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
        data: MfaCode, principal: CurrentUser, service: AuthServiceDep
    ) -> Response:
        await service.disable_mfa(principal, data.code)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
