"""What a verified JWT says: the claims, their checks, and the token types bastion issues."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from bastion.security.errors import InvalidTokenError

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "FORBIDDEN_HEADERS",
    "MFA_TOKEN_TYPE",
    "REGISTERED_CLAIMS",
    "TokenClaims",
    "b64decode_segment",
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

_SEGMENT = re.compile(rb"[A-Za-z0-9_-]*")


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
    """Check the claims of a token whose signature is already verified.

    Args:
        payload: The decoded claims.
        token_type: The verified `typ` header.
        key_id: The `kid` whose key verified the signature.
        issuer: The `iss` required.
        audience: The `aud` required (a list containing it is accepted).
        now: The current time, POSIX seconds.
        leeway: Clock skew allowed, in seconds.

    Returns:
        The claims.

    Raises:
        InvalidTokenError: With reason `iss`, `aud`, `claims`, `expired`,
            `not_yet_valid` or `issued_in_future`.
    """
    if payload.get("iss") != issuer:
        raise InvalidTokenError("iss")
    claimed = payload.get("aud")
    if claimed != audience and not (isinstance(claimed, list) and audience in claimed):
        raise InvalidTokenError("aud")
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


def b64decode_segment(segment: bytes) -> bytes:
    """Decode one canonical, unpadded base64url segment of a compact JWS.

    Args:
        segment: The segment's bytes.

    Returns:
        The decoded bytes.

    Raises:
        ValueError: If it holds padding, characters outside base64url, or
            non-zero trailing bits (a second spelling of the same bytes).
    """
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        raise ValueError("not base64url")
    decoded = base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != segment:
        raise ValueError("non-canonical base64url")
    return decoded
