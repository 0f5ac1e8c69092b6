"""`Auth`: the auth feature a host wires, with its config, router, dependency and start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.params import Depends as DependsParam
from pydantic import BaseModel

from bastion._resources import app_resources
from bastion.auth._dependencies import authenticated_user_id, current_user
from bastion.auth._hooks import AuthHooks
from bastion.auth._models import (
    AuthModels,
    MfaChallengeMixin,
    RecoveryCodeMixin,
    RefreshSessionMixin,
    UserMixin,
)
from bastion.auth._router import AUTH_ROUTES, AuthRoute, auth_routes
from bastion.auth._runtime import AuthRuntime
from bastion.auth._schemas import UserCreate, UserOut
from bastion.core import BastionSettings
from bastion.security import Clock, PasswordCheck, system_clock

__all__ = ["Auth"]

#: The routes that need the MFA models (`recovery_code` and `mfa_challenge`).
_MFA_ROUTES: frozenset[AuthRoute] = frozenset(
    {"mfa_verify", "mfa_setup", "mfa_enable", "mfa_disable"}
)


class Auth:
    """The auth feature: the one object a host wires.

    It owns the host's configuration (models, hooks, schemas, password checks,
    clock), its HTTP routes (`router`), the dependency that authenticates a
    request (`current_user`, behind `CurrentUser`) and its start-up (`start`):
    the router's lifespan builds the `AuthRuntime` (hasher, tokens, TOTP, ...)
    and puts it on `Resources.auth` before the host's own lifespan runs.

    ```python
    auth = Auth(user=User, session=AuthSession)  # no MFA: no MFA tables, no MFA routes
    app = create_app(settings, routers=[auth.router, notes_router()])
    ```

    Args:
        user: The user model (`UserMixin` plus the host's columns).
        session: The refresh-session model (`RefreshSessionMixin`).
        recovery_code: The recovery-code model (`RecoveryCodeMixin`), with MFA.
        mfa_challenge: The MFA-challenge model (`MfaChallengeMixin`), with MFA.
        hooks: Lifecycle hooks (audit, events, extra claims).
        user_schema: The response model of `/register` and `/me` (a `UserOut` subclass
            may add columns of the host's user model).
        user_create_schema: The body of `/register` (extra fields become user columns).
        password_checks: Extra password checks (a breached-password service, ...).
        clock: The time source (tests pass a controllable one).
        prefix: Where the routes live in the router (`/auth`, so `/api/v1/auth` once
            `create_app` mounts it); the router may be included under further prefixes.
        disabled: Routes not to build (e.g. `("register",)` for invite-only apps).
            Without the two MFA models, the MFA routes are never built.
        dependencies: Extra dependencies per route (e.g. a stricter `RateLimit`).
        tags: OpenAPI tags.

    Raises:
        ValueError: `disabled` or `dependencies` names a route that does not exist,
            or only one of the two MFA models is given.
    """

    #: The dependency that authenticates a request (`CurrentUser` wraps it).
    current_user = staticmethod(current_user)

    def __init__(
        self,
        *,
        user: type[UserMixin],
        session: type[RefreshSessionMixin],
        recovery_code: type[RecoveryCodeMixin] | None = None,
        mfa_challenge: type[MfaChallengeMixin] | None = None,
        hooks: AuthHooks | None = None,
        user_schema: type[BaseModel] = UserOut,
        user_create_schema: type[UserCreate] = UserCreate,
        password_checks: Sequence[PasswordCheck] = (),
        clock: Clock = system_clock,
        prefix: str = "/auth",
        disabled: Sequence[AuthRoute] = (),
        dependencies: Mapping[AuthRoute, Sequence[DependsParam]] | None = None,
        tags: Sequence[str] = ("auth",),
    ) -> None:
        """Keep the configuration and build the router."""
        models = AuthModels(
            user=user, session=session, recovery_code=recovery_code, mfa_challenge=mfa_challenge
        )
        extra = dict(dependencies or {})
        off = frozenset(disabled)
        unknown = off.union(extra) - set(AUTH_ROUTES)
        if unknown:
            raise ValueError(f"unknown auth routes: {sorted(unknown)}")
        if not models.mfa:
            off |= _MFA_ROUTES  # a host without the MFA models has no MFA
        #: The models, as the runtime and the repositories read them.
        self.models = models
        self.hooks = hooks or AuthHooks()
        self.user_schema = user_schema
        self.user_create_schema = user_create_schema
        self.password_checks = tuple(password_checks)
        self.clock = clock
        #: The auth routes; include it in `create_app(routers=[...])` (its lifespan starts the feature).
        self.router = auth_routes(
            self, prefix=prefix, disabled=off, dependencies=extra, tags=list(tags)
        )

    async def start(self, settings: BastionSettings) -> AuthRuntime:
        """Build the primitives from `settings` and warm the hasher up.

        The dummy hash for unknown e-mails is made now, so the first one costs one verify.

        Raises:
            ValueError: A throttle limit in `settings` is not valid `limits` notation.
        """
        runtime = AuthRuntime.from_settings(
            settings,
            models=self.models,
            hooks=self.hooks,
            clock=self.clock,
            password_checks=self.password_checks,
        )
        await runtime.hasher.warm_up()
        return runtime

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        """The router's lifespan: start the feature on the app's `Resources`.

        `create_app` runs it after the resources exist and before the host's lifespan.

        Raises:
            RuntimeError: The app is not built by `create_app` (it has no `Resources`).
        """
        resources = app_resources(app)
        if resources is None:
            raise RuntimeError("the auth router runs in an app built by bastion.create_app")
        resources.auth = await self.start(resources.settings)
        resources.user_resolver = authenticated_user_id  # `by_user` limits authenticate with it
        yield
