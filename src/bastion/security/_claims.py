"""What a verified JWT says: the claims, their checks, and the token types bastion issues."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from bastion.security._errors import InvalidTokenError

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "MFA_TOKEN_TYPE",
    "REGISTERED_CLAIMS",
    "TokenClaims",
    "check_claims",
]

#: `typ` of access tokens (RFC 9068).
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a type label, not a secret
#: `typ` of the short-lived token that stands for "password checked, MFA pending".
MFA_TOKEN_TYPE = "mfa+jwt"  # noqa: S105 - a type label, not a secret
#: Claims the service sets itself; extra claims may not override them.
REGISTERED_CLAIMS = frozenset({"iss", "aud", "sub", "exp", "iat", "nbf", "jti", "sid"})
#: Header parameters that point at keys elsewhere or extend the format: never honoured,
#: a token carrying any of them is refused.
FORBIDDEN_HEADERS = frozenset({"jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "crit", "b64"})


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The verified content of a token.

    Attributes:
        subject: `sub`, the user id as text.
        token_type: `typ` header, e.g. `at+jwt`.
        token_id: `jti`, unique per token (for single-use tokens and denylists).
        session_id: `sid`, the login session the token belongs to, if any.
        issued_at: `iat`, POSIX seconds.
        not_before: `nbf`, POSIX seconds.
        expires_at: `exp`, POSIX seconds.
        issuer: `iss`.
        audience: `aud`.
        key_id: `kid` of the key that signed it.
        extra: Every other claim.
    """

    subject: str
    token_type: str
    token_id: str
    session_id: str | None
    issued_at: int
    not_before: int
    expires_at: int
    issuer: str
    audience: str
    key_id: str
    extra: Mapping[str, object] = field(default_factory=dict)


def check_claims(
    payload: Mapping[str, object],
    *,
    token_type: str,
    key_id: str,
    issuer: str,
    audience: str,
    now: float,
    leeway: int = 0,
) -> TokenClaims:
    """Check the claims PyJWT leaves to bastion, on a token it has verified.

    PyJWT has checked the signature, `iss`, `aud` and that every registered
    claim is present; what is left is their shape and the time claims, checked
    against `now` so that the clock can be the service's own.

    Args:
        payload: The verified claims.
        token_type: The verified `typ` header.
        key_id: The `kid` whose key verified the signature.
        issuer: The verified `iss`.
        audience: The verified `aud` (ours, even when the token lists several).
        now: The current time, POSIX seconds.
        leeway: Clock skew allowed, in seconds.

    Returns:
        The claims.

    Raises:
        InvalidTokenError: With reason `claims`, `expired`, `not_yet_valid`
            or `issued_in_future`.
    """
    subject, token_id, session_id = payload.get("sub"), payload.get("jti"), payload.get("sid")
    if not isinstance(subject, str) or not subject or not isinstance(token_id, str):
        raise InvalidTokenError("claims")
    if session_id is not None and not isinstance(session_id, str):
        raise InvalidTokenError("claims")
    times = [payload.get(name) for name in ("iat", "nbf", "exp")]
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in times):
        raise InvalidTokenError("claims")
    issued_at, not_before, expires_at = cast("list[int]", times)
    if now >= expires_at + leeway:
        raise InvalidTokenError("expired")
    if now + leeway < not_before:
        raise InvalidTokenError("not_yet_valid")
    if now + leeway < issued_at:
        raise InvalidTokenError("issued_in_future")
    return TokenClaims(
        subject=subject,
        token_type=token_type,
        token_id=token_id,
        session_id=session_id,
        issued_at=issued_at,
        not_before=not_before,
        expires_at=expires_at,
        issuer=issuer,
        audience=audience,
        key_id=key_id,
        extra={k: v for k, v in payload.items() if k not in REGISTERED_CLAIMS},
    )
