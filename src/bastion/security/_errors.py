"""The errors the security primitives raise, each with its stable code.

```
ValidationFailedError (422)
└── WeakPasswordError (422 WEAK_PASSWORD)
UnauthenticatedError (401)
└── InvalidTokenError (401 INVALID_TOKEN)
PermissionDeniedError (403)
└── CsrfFailedError (403 CSRF_FAILED)
DecryptionError (a plain exception: a server-side fault, never shown to clients)
```
"""

from __future__ import annotations

from collections.abc import Sequence

from bastion.errors import PermissionDeniedError, UnauthenticatedError, ValidationFailedError

__all__ = ["CsrfFailedError", "DecryptionError", "InvalidTokenError", "WeakPasswordError"]


class WeakPasswordError(ValidationFailedError):
    """The password fails the policy; `details` is `{"reasons": [...]}`.

    Attributes:
        reasons: Every failing reason code (`too_short`, `too_long`, `common`,
            `contains_email`, `contains_app_name`, or an extra checker's code).
    """

    code = "WEAK_PASSWORD"
    default_message = "The password does not meet the password policy."

    def __init__(self, reasons: Sequence[str], message: str | None = None) -> None:
        """Create the error.

        Args:
            reasons: The failing reason codes, in the order the policy found them.
            message: Client-facing message; the class default when omitted.
        """
        self.reasons = list(reasons)
        super().__init__(message, details={"reasons": list(self.reasons)})


class InvalidTokenError(UnauthenticatedError):
    """A token is malformed, forged, expired, of the wrong type or otherwise unacceptable.

    Every failure carries the same code and message, so a client learns nothing
    about why; `reason` says it for logs and tests and is never rendered.

    Attributes:
        reason: Machine-readable cause (`expired`, `signature`, `typ`, ...), server-side only.
    """

    code = "INVALID_TOKEN"
    default_message = "The token is invalid or has expired."

    def __init__(self, reason: str = "invalid", message: str | None = None) -> None:
        """Create the error.

        Args:
            reason: Why the token was refused (kept server-side).
            message: Client-facing message; the class default when omitted.
        """
        self.reason = reason
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class CsrfFailedError(PermissionDeniedError):
    """An unsafe request authenticated by cookie lacks a valid CSRF token."""

    code = "CSRF_FAILED"
    default_message = "The CSRF token is missing or invalid."


class DecryptionError(Exception):
    """A ciphertext is malformed, of an unknown version, tampered with or under another key."""
