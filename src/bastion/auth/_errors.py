"""The errors the auth feature raises, each with its stable code.

```
UnauthenticatedError (401)
├── InvalidCredentialsError (401 INVALID_CREDENTIALS)
├── InvalidMfaCodeError (401 INVALID_MFA_CODE)
├── TokenReusedError (401 TOKEN_REUSED)
└── InvalidTokenError (401 INVALID_TOKEN, from bastion.security)
ConflictError (409)
├── EmailTakenError (409 EMAIL_TAKEN)
└── MfaStateError (409 MFA_ALREADY_ENABLED / MFA_NOT_ENABLED / MFA_NOT_SET_UP)
```
"""

from __future__ import annotations

from bastion.errors import ConflictError, UnauthenticatedError

__all__ = [
    "EmailTakenError",
    "InvalidCredentialsError",
    "InvalidMfaCodeError",
    "MfaStateError",
    "NotAuthenticatedError",
    "TokenReusedError",
]

_BEARER = {"WWW-Authenticate": "Bearer"}


class NotAuthenticatedError(UnauthenticatedError):
    """No credentials were presented (401 `NOT_AUTHENTICATED`, `WWW-Authenticate: Bearer`)."""

    def __init__(self) -> None:
        """Create the error with its challenge header."""
        super().__init__(headers=_BEARER)


class InvalidCredentialsError(UnauthenticatedError):
    """Wrong password, unknown e-mail or inactive account: one body for all three."""

    code = "INVALID_CREDENTIALS"
    default_message = "The e-mail or password is incorrect."

    def __init__(self) -> None:
        """Create the error (always the same message, so no account state leaks)."""
        super().__init__(headers=_BEARER)


class InvalidMfaCodeError(UnauthenticatedError):
    """The TOTP or recovery code is wrong, malformed, or already used."""

    code = "INVALID_MFA_CODE"
    default_message = "The verification code is incorrect."


class TokenReusedError(UnauthenticatedError):
    """A refresh token was presented again after it was spent; its family is revoked."""

    code = "TOKEN_REUSED"
    default_message = "The refresh token was already used; the session has been revoked."

    def __init__(self) -> None:
        """Create the error with its challenge header."""
        super().__init__(headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class EmailTakenError(ConflictError):
    """An account with this e-mail address already exists."""

    code = "EMAIL_TAKEN"
    default_message = "An account with this e-mail address already exists."


class MfaStateError(ConflictError):
    """The MFA step does not fit the account's MFA state (already on, not set up, off)."""

    default_message = "Multi-factor authentication is not in the required state."
