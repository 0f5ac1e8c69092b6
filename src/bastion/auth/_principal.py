"""What the auth service hands out: the authenticated principal and issued credentials."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

__all__ = ["IssuedTokens", "MfaPending", "Principal"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller an access token authenticated.

    Attributes:
        id: The user id.
        session_id: The login session (refresh family) the token belongs to.
        roles: The user's roles (read from the database unless tokens are stateless).
        scopes: The scopes the token grants (its space-separated `scope` claim).
    """

    id: uuid.UUID
    session_id: uuid.UUID
    roles: frozenset[str]
    scopes: frozenset[str]

    def has_roles(self, *roles: str) -> bool:
        """Whether the principal holds every one of `roles`."""
        return self.roles.issuperset(roles)


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """A new access and refresh token, and the session they belong to.

    Attributes:
        access_token: The JWT.
        refresh_token: The opaque refresh token (only its hash is stored).
        expires_in: Access-token lifetime, in seconds.
        session_id: The refresh family, as access tokens name it in `sid`.
        user_id: The user.
    """

    access_token: str
    refresh_token: str
    expires_in: int
    session_id: uuid.UUID
    user_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class MfaPending:
    """The password was right and MFA is on: the second factor is still due.

    Attributes:
        mfa_token: The single-use, short-lived token for `/mfa/verify`.
    """

    mfa_token: str
