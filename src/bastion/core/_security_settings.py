"""The security settings' enum and checks, kept apart from `settings.py` for readability."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from bastion.core._setting_types import OptionalRateLimitSetting, RateLimitSetting

if TYPE_CHECKING:
    from bastion.core._settings import BastionSettings

__all__ = [
    "MIN_PRODUCTION_ARGON2_MEMORY_KIB",
    "MIN_PRODUCTION_ARGON2_TIME_COST",
    "MIN_PRODUCTION_PASSWORD_LENGTH",
    "JwtAlgorithm",
    "SecuritySettings",
    "security_setting_problems",
]

#: The shortest HMAC key production accepts for JWTs, in bytes.
_MIN_HMAC_KEY_BYTES = 32


class JwtAlgorithm(StrEnum):
    """The JWT signing algorithms bastion accepts (one is pinned per deployment)."""

    HS256 = "HS256"
    HS384 = "HS384"
    HS512 = "HS512"
    RS256 = "RS256"
    PS256 = "PS256"
    ES256 = "ES256"
    EDDSA = "EdDSA"

    @property
    def is_symmetric(self) -> bool:
        """Whether the algorithm is an HMAC (one shared secret signs and verifies)."""
        return self.value.startswith("HS")


#: Argon2id floor production accepts (OWASP's minimum: 19 MiB, 2 passes).
MIN_PRODUCTION_ARGON2_MEMORY_KIB = 19_456
#: Fewest Argon2id passes production accepts.
MIN_PRODUCTION_ARGON2_TIME_COST = 2
#: The shortest password policy production accepts (NIST SP 800-63B's floor).
MIN_PRODUCTION_PASSWORD_LENGTH = 8


def security_setting_problems(settings: BastionSettings, *, production: bool) -> list[str]:
    """List what is wrong with the security settings (each entry names its variable).

    Args:
        settings: The settings to check.
        production: Whether to apply the production-only checks too.

    Returns:
        One message per problem, empty when the settings are acceptable.
    """
    problems: list[str] = []
    if settings.password_min_length > settings.password_max_length:
        problems.append("PASSWORD_MIN_LENGTH must not exceed PASSWORD_MAX_LENGTH")
    if settings.password_hash_memory_cost < 8 * settings.password_hash_parallelism:
        problems.append("PASSWORD_HASH_MEMORY_COST must be at least 8 KiB per lane")
    if settings.refresh_token_absolute_ttl < settings.refresh_token_ttl:
        problems.append("REFRESH_TOKEN_ABSOLUTE_TTL must be at least REFRESH_TOKEN_TTL")
    if settings.jwt_key_id in settings.jwt_verification_keys:
        problems.append("JWT_VERIFICATION_KEYS must not reuse the active JWT_KEY_ID")
    if not settings.jwt_algorithm.is_symmetric and settings.jwt_signing_key is None:
        problems.append(
            f"JWT_SIGNING_KEY (a PEM private key) is required with {settings.jwt_algorithm}"
        )
    if not production:
        return problems
    if settings.password_hash_memory_cost < MIN_PRODUCTION_ARGON2_MEMORY_KIB:
        problems.append(
            f"PASSWORD_HASH_MEMORY_COST must be at least {MIN_PRODUCTION_ARGON2_MEMORY_KIB} "
            "KiB in production"
        )
    if settings.password_hash_time_cost < MIN_PRODUCTION_ARGON2_TIME_COST:
        problems.append(
            f"PASSWORD_HASH_TIME_COST must be at least {MIN_PRODUCTION_ARGON2_TIME_COST} "
            "in production"
        )
    if settings.password_min_length < MIN_PRODUCTION_PASSWORD_LENGTH:
        problems.append(
            f"PASSWORD_MIN_LENGTH must be at least {MIN_PRODUCTION_PASSWORD_LENGTH} in production"
        )
    if settings.jwt_algorithm.is_symmetric:
        retired = sorted(settings.jwt_verification_keys.items())
        named = {f"JWT_VERIFICATION_KEYS[{kid!r}]": key for kid, key in retired}
        if settings.jwt_signing_key is not None:
            named = {"JWT_SIGNING_KEY": settings.jwt_signing_key, **named}
        for variable, key in named.items():
            if len(key.get_secret_value().encode()) < _MIN_HMAC_KEY_BYTES:
                problems.append(
                    f"{variable} must be at least {_MIN_HMAC_KEY_BYTES} bytes in production"
                )
    return problems


class SecuritySettings(BaseSettings):
    """The password, token and auth fields of `BastionSettings` (its checks live there)."""

    password_hash_time_cost: int = Field(
        default=3, ge=1, description="Argon2id passes over memory (time cost)."
    )
    password_hash_memory_cost: int = Field(
        default=65536, ge=8, description="Argon2id memory per hash, in KiB (64 MiB by default)."
    )
    password_hash_parallelism: int = Field(
        default=4, ge=1, description="Argon2id lanes (parallelism) per hash."
    )
    password_hash_concurrency: int | None = Field(
        default=None,
        ge=1,
        description="Hashes computed at once in worker threads; unset means the CPUs the process may use (affinity, cgroup quota) / parallelism (at least 1).",
    )
    password_hash_queue: int | None = Field(
        default=None,
        ge=0,
        description="Hashes that may wait for a worker; beyond, 503 at once. Unset: 5 seconds of hashing at the rate measured at start-up.",
    )
    password_min_length: int = Field(
        default=12, ge=1, description="Shortest accepted password, in characters."
    )
    password_max_length: int = Field(
        default=128, ge=1, description="Longest accepted password, in characters (never truncated)."
    )
    jwt_algorithm: JwtAlgorithm = Field(
        default=JwtAlgorithm.HS256,
        description="The one JWT algorithm signed and accepted (`HS256`, `RS256`, `ES256`, `EdDSA`, ...).",
    )
    jwt_issuer: str | None = Field(
        default=None, description="JWT `iss` set and required; unset means `BASTION_APP_NAME`."
    )
    jwt_audience: str | None = Field(
        default=None, description="JWT `aud` set and required; unset means `BASTION_APP_NAME`."
    )
    jwt_key_id: str = Field(
        default="default", min_length=1, description="`kid` of the active JWT signing key."
    )
    jwt_signing_key: SecretStr | None = Field(
        default=None,
        description="HMAC secret or PEM private key that signs JWTs; unset (HS* only) derives one from `BASTION_SECRET_KEY`.",
    )
    jwt_verification_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Retired keys still accepted, as JSON `{kid: HMAC secret or PEM public key}`.",
    )
    jwt_leeway: int = Field(
        default=0,
        ge=0,
        le=300,
        description="Clock skew allowed on JWT `exp`/`nbf`/`iat`, in seconds.",
    )
    access_token_ttl: int = Field(
        default=900, ge=1, description="Access token lifetime, in seconds (15 minutes)."
    )
    mfa_token_ttl: int = Field(
        default=300, ge=1, description="Lifetime of the MFA-pending token, in seconds (5 minutes)."
    )
    refresh_token_ttl: int = Field(
        default=1_209_600, ge=1, description="Refresh token lifetime, in seconds (14 days)."
    )
    refresh_token_absolute_ttl: int = Field(
        default=2_592_000,
        ge=1,
        description="Absolute lifetime of a refresh-token family, in seconds (30 days).",
    )

    # --- auth ---
    auth_login_limit: RateLimitSetting = Field(
        default="5/minute",
        description="Failed logins (and MFA codes) allowed per client IP and account (`limits` notation).",
    )
    auth_account_limit: RateLimitSetting = Field(
        default="100/hour",
        description="Failed logins (and, apart, MFA codes) allowed per account from any IP (`limits` notation).",
    )
    auth_hash_limit: OptionalRateLimitSetting = Field(
        default=None,
        description="Password hashes (login, registration, password change) per client IP; unset or empty: half the hash rate measured at start-up, per minute.",
    )
    auth_stateless_tokens: bool = Field(
        default=False,
        description="Trust access tokens until they expire, without checking their session is still live.",
    )
    auth_cookie_mode: bool = Field(
        default=False,
        description="Also issue tokens in `__Host-`/`__Secure-` cookies, with a CSRF check on unsafe requests.",
    )
