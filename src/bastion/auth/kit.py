"""`AuthKit`: the security primitives and auth settings the auth feature runs on, built once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bastion.auth.hooks import AuthHooks
from bastion.auth.models import AuthModels
from bastion.auth.principal import Principal
from bastion.core.settings import BastionSettings
from bastion.ratelimit.limiter import parse_limit
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

__all__ = ["AuthKit", "AuthState"]


@dataclass(frozen=True, slots=True)
class AuthKit:
    """Everything the auth service needs besides the database, built in the lifespan.

    It lives on `Resources.auth`; tests build one with a fixed `clock` to move
    time for expiry (JWTs, TOTP steps, refresh sessions all read the same clock).

    Attributes:
        hasher: Argon2id hashing in a bounded worker pool.
        policy: The password policy.
        tokens: Access and MFA-pending JWTs.
        totp: TOTP codes with the replay guard.
        secret_box: Encrypts TOTP secrets at rest.
        recovery: Recovery-code generation and hashing.
        csrf: Signed double-submit CSRF tokens (cookie mode).
        clock: The time source, POSIX seconds.
        refresh_ttl: Refresh-token lifetime, in seconds.
        absolute_ttl: Absolute lifetime of a refresh family, in seconds.
        login_limit: Failed-attempt budget per (client IP, account), `limits` notation.
        account_limit: Failed-attempt budget per account from any IP.
        hash_limit: Password hashes per client IP (None: sized from the hash rate).
        throttle_key: Keys the hashes that name accounts in throttle keys.
        stateless: Skip the per-request session liveness check.
        cookie_mode: Issue tokens in cookies too, and check CSRF on cookie-authenticated writes.
    """

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
        clock: Clock = system_clock,
        password_checks: Sequence[PasswordCheck] = (),
    ) -> AuthKit:
        """Build the kit from settings.

        Args:
            settings: The app settings.
            clock: The time source (tests pass a controllable one).
            password_checks: Extra password checks (for example a breached-password service).

        Returns:
            The kit.

        Raises:
            ValueError: A throttle limit is not valid `limits` notation.
        """
        for limit in (settings.auth_login_limit, settings.auth_account_limit):
            parse_limit(limit)
        if settings.auth_hash_limit is not None:
            parse_limit(settings.auth_hash_limit)
        return cls(
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

    def with_clock(self, clock: Clock, settings: BastionSettings) -> AuthKit:
        """This kit on another time source: tokens, TOTP steps and sessions all read `clock`.

        How `bastion.testing` moves a running app's time for expiry tests.

        Args:
            clock: The new time source.
            settings: The settings the kit was built from.

        Returns:
            A new kit; this one is unchanged.
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


@dataclass(frozen=True, slots=True)
class AuthState:
    """The auth feature of one running app, on `Resources.auth` (set by the auth router's lifespan).

    Attributes:
        kit: The primitives and settings.
        models: The host's auth models.
        hooks: The host's lifecycle hooks.
    """

    kit: AuthKit
    models: AuthModels
    hooks: AuthHooks
