"""How bastion calls PyJWT's verification: the options it passes and the reasons it reports."""

from __future__ import annotations

import jwt
from jwt.exceptions import (
    DecodeError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    PyJWTError,
)

#: The claims every bastion token carries; the time claims are checked on the
#: service's clock by `check_claims`, so PyJWT's wall-clock checks are off.
DECODE_OPTIONS: jwt.types.Options = {
    "require": ["iss", "aud", "sub", "iat", "nbf", "exp", "jti"],
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
}


def reason_for(exc: PyJWTError) -> str:
    """Name what PyJWT refused, in the reasons `InvalidTokenError` carries."""
    if isinstance(exc, InvalidSignatureError):
        return "signature"
    if isinstance(exc, InvalidAlgorithmError):
        return "algorithm"
    if isinstance(exc, InvalidIssuerError) or getattr(exc, "claim", None) == "iss":
        return "iss"
    if isinstance(exc, InvalidAudienceError) or getattr(exc, "claim", None) == "aud":
        return "aud"
    if isinstance(exc, DecodeError):
        return "malformed"
    return "claims"
