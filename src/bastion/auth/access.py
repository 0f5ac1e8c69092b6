"""Authenticating an access token: its signature and claims, then its session's liveness."""

from __future__ import annotations

import uuid
from dataclasses import replace

from bastion.auth.kit import AuthKit
from bastion.auth.liveness import live_session_roles
from bastion.auth.models import AuthModels
from bastion.auth.principal import Principal
from bastion.db.errors import translate_errors
from bastion.db.uow import UnitOfWork
from bastion.security import InvalidTokenError

__all__ = ["VERIFIED_CACHE_SIZE", "authenticate_token", "principal_from_claims"]


def _uuid(value: str | None, reason: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise InvalidTokenError(reason) from exc


#: How many verified access tokens `principal_from_claims` remembers.
VERIFIED_CACHE_SIZE = 4096


def principal_from_claims(kit: AuthKit, access_token: str) -> Principal:
    """Verify an access token's signature and claims alone (no database).

    Roles come from the token's `roles` claim, scopes from its `scope` claim. A
    token verified before is served from `kit.verified` until it expires: the
    signature cannot change, only time can invalidate it.

    Raises:
        InvalidTokenError: The token is not a valid access token now.
    """
    cached = kit.verified.get(access_token)
    if cached is not None:
        principal, expires_at = cached
        if kit.clock() < expires_at + kit.tokens.leeway:
            return principal
        del kit.verified[access_token]
    claims = kit.tokens.verify_access_token(access_token)
    scope = claims.extra.get("scope")
    roles = claims.extra.get("roles")
    principal = Principal(
        id=_uuid(claims.subject, "sub"),
        session_id=_uuid(claims.session_id, "sid"),
        roles=frozenset(r for r in roles if isinstance(r, str))
        if isinstance(roles, list)
        else frozenset(),
        scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
    )
    if len(kit.verified) >= VERIFIED_CACHE_SIZE:
        kit.verified.pop(next(iter(kit.verified)))
    kit.verified[access_token] = (principal, claims.expires_at)
    return principal


async def authenticate_token(
    kit: AuthKit, models: AuthModels, uow: UnitOfWork, access_token: str
) -> Principal:
    """Authenticate an access token and, unless stateless, check its session in `uow`.

    The per-request path: the session check is one primary-key read on the
    unit of work's own connection, in its transaction, so a request that
    uses its unit of work anyway pays one statement, no second connection.

    Raises:
        InvalidTokenError: Bad, expired, of another type, or its session is revoked.
        DatabaseUnavailableError: The database cannot be reached (503, `Retry-After`).
    """
    principal = principal_from_claims(kit, access_token)
    if kit.stateless:
        return principal
    # Checking out the connection is where an unreachable database shows first:
    # translated, so it is a 503, not a 500.
    with translate_errors():
        connection = await uow.session.connection()
    roles = await live_session_roles(
        connection, models, principal.id, principal.session_id, kit.now()
    )
    if roles is None:
        raise InvalidTokenError("session")
    return replace(principal, roles=frozenset(roles))
