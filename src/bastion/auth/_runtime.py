"""`AuthRuntime`: the auth feature as one app runs it, built once at start-up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bastion.auth._accounts import AccountService
from bastion.auth._audit import AuditTrail
from bastion.auth._hooks import AuthHooks, RequestMeta
from bastion.auth._mfa import MfaService
from bastion.auth._models import AuthModels
from bastion.auth._principal import Principal
from bastion.auth._repositories import AuthRepository
from bastion.auth._sessions import SessionService
from bastion.auth._throttle import AuthThrottle, Report
from bastion.core import BastionSettings
from bastion.ratelimit import RateLimiter, parse_limit
from bastion.security import (
    Clock,
    CsrfTokens,
    PasswordCheck,
    PasswordHasher,
    PasswordPolicy,
    RecoveryCodes,
    SecretBox,
    TokenService,
    TotpService,
    derive_key,
    system_clock,
)

if TYPE_CHECKING:
    from bastion.db import UnitOfWork

__all__ = ["AuthRuntime"]


@dataclass(frozen=True, slots=True)
class AuthRuntime:
    """The running auth feature of one app, on `Resources.auth`: primitives, settings, models.

    `Auth` builds it when the app starts. The services are built from it per
    unit of work (`accounts`, `sessions`, `mfa`); outside HTTP (a command, a
    test, a host's start-up) that is how a host reaches them:

    ```python
    async with UnitOfWork(resources.sessionmaker) as uow:
        await resources.auth.accounts(uow, resources.limiter).create_user(email, password)
    ```

    Attributes:
        models: The host's auth models.
        hooks: The host's lifecycle hooks.
        hasher: Argon2id hashing in a bounded worker pool.
        policy: The password policy.
        tokens: Access and MFA-pending JWTs.
        totp: TOTP codes with the replay guard.
        secret_box: Encrypts TOTP secrets at rest.
        recovery: Recovery-code generation and hashing.
        csrf: Signed double-submit CSRF tokens (cookie mode).
        clock: The time source, POSIX seconds (tokens, TOTP steps and sessions all read it).
        refresh_ttl: Refresh-token lifetime, in seconds.
        absolute_ttl: Absolute lifetime of a refresh family, in seconds.
        login_limit: Failed-attempt budget per (client IP, account), `limits` notation.
        account_limit: Failed-attempt budget per account from any IP.
        hash_limit: Password hashes per client IP (None: sized from the hash rate).
        throttle_key: Keys the hashes that name accounts in throttle keys, and the
            mark of the password hash an MFA token carries (with a label of its own).
        stateless: Skip the per-request session liveness check.
        cookie_mode: Issue tokens in cookies too, and check CSRF on cookie-authenticated writes.
    """

    models: AuthModels
    hooks: AuthHooks
    hasher: PasswordHasher
    policy: PasswordPolicy
    tokens: TokenService
    totp: TotpService
    secret_box: SecretBox
    recovery: RecoveryCodes
    csrf: CsrfTokens
    clock: Clock
    refresh_ttl: int
    absolute_ttl: int
    login_limit: str
    account_limit: str
    hash_limit: str | None
    throttle_key: bytes = field(repr=False)
    stateless: bool
    cookie_mode: bool
    #: Access tokens already verified, with their expiry: a repeat skips the signature
    #: and claims work. Bounded (oldest evicted); entries are dropped once expired.
    verified: dict[str, tuple[Principal, int]] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls,
        settings: BastionSettings,
        *,
        models: AuthModels,
        hooks: AuthHooks | None = None,
        clock: Clock = system_clock,
        password_checks: Sequence[PasswordCheck] = (),
    ) -> AuthRuntime:
        """Build the primitives from settings.

        Args:
            settings: The app settings.
            models: The host's auth models.
            hooks: The host's lifecycle hooks (none by default).
            clock: The time source (tests pass a controllable one).
            password_checks: Extra password checks (for example a breached-password service).

        Returns:
            The runtime.

        Raises:
            ValueError: A throttle limit is not valid `limits` notation.
        """
        for limit in (settings.auth_login_limit, settings.auth_account_limit):
            parse_limit(limit)
        if settings.auth_hash_limit is not None:
            parse_limit(settings.auth_hash_limit)
        return cls(
            models=models,
            hooks=hooks or AuthHooks(),
            hasher=PasswordHasher.from_settings(settings),
            policy=PasswordPolicy.from_settings(settings, checks=password_checks),
            tokens=TokenService.from_settings(settings, clock=clock),
            totp=TotpService.from_settings(settings, clock=clock),
            secret_box=SecretBox.from_settings(settings),
            recovery=RecoveryCodes.from_settings(settings),
            csrf=CsrfTokens.from_settings(settings),
            clock=clock,
            refresh_ttl=settings.refresh_token_ttl,
            absolute_ttl=settings.refresh_token_absolute_ttl,
            login_limit=settings.auth_login_limit,
            account_limit=settings.auth_account_limit,
            hash_limit=settings.auth_hash_limit,
            throttle_key=derive_key(settings.secret_key, "auth-throttle"),
            stateless=settings.auth_stateless_tokens,
            cookie_mode=settings.auth_cookie_mode,
        )

    def with_clock(self, clock: Clock, settings: BastionSettings) -> AuthRuntime:
        """This runtime on another time source: tokens, TOTP steps and sessions all read `clock`.

        How `bastion.testing` moves a running app's time for expiry tests.

        Args:
            clock: The new time source.
            settings: The settings the runtime was built from.

        Returns:
            A new runtime; this one is unchanged.
        """
        return replace(
            self,
            tokens=TokenService.from_settings(settings, clock=clock),
            totp=TotpService.from_settings(settings, clock=clock),
            clock=clock,
            verified={},
        )

    def now(self) -> datetime:
        """The clock's current time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- the services, per unit of work ---------------------------------------------
    def sessions(self, uow: UnitOfWork, *, meta: RequestMeta | None = None) -> SessionService:
        """The token and session service on `uow` (audit events name `meta`'s client)."""
        repo = AuthRepository(uow, self.models)
        return SessionService(uow, repo=repo, runtime=self, audit=AuditTrail(uow, meta))

    def mfa(
        self,
        uow: UnitOfWork,
        limiter: RateLimiter,
        *,
        report: Report | None = None,
        meta: RequestMeta | None = None,
    ) -> MfaService:
        """The MFA service on `uow`; its throttles count on `limiter` and report to `report`."""
        sessions = self.sessions(uow, meta=meta)
        return MfaService(
            uow,
            repo=sessions.repo,
            runtime=self,
            throttle=AuthThrottle(limiter, self, report),
            audit=sessions.audit,
            sessions=sessions,
        )

    def accounts(
        self,
        uow: UnitOfWork,
        limiter: RateLimiter,
        *,
        report: Report | None = None,
        meta: RequestMeta | None = None,
    ) -> AccountService:
        """The account service on `uow` (login, passwords, users, roles)."""
        mfa = self.mfa(uow, limiter, report=report, meta=meta)
        return AccountService(
            uow,
            repo=mfa.repo,
            runtime=self,
            throttle=mfa.throttle,
            audit=mfa.audit,
            sessions=mfa.sessions,
            mfa=mfa,
        )
