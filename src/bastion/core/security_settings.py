"""The security settings' enum and checks, kept apart from `settings.py` for readability."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bastion.core.settings import BastionSettings

__all__ = [
    "MIN_PRODUCTION_ARGON2_MEMORY_KIB",
    "MIN_PRODUCTION_ARGON2_TIME_COST",
    "MIN_PRODUCTION_PASSWORD_LENGTH",
    "JwtAlgorithm",
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
        keys = dict(settings.jwt_verification_keys)
        if settings.jwt_signing_key is not None:
            keys[settings.jwt_key_id] = settings.jwt_signing_key
        for kid, key in sorted(keys.items()):
            if len(key.get_secret_value().encode()) < _MIN_HMAC_KEY_BYTES:
                problems.append(
                    f"JWT key {kid!r} must be at least {_MIN_HMAC_KEY_BYTES} bytes in production"
                )
    return problems
