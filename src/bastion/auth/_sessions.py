"""`SessionService`: access tokens and refresh sessions (issue, rotate, revoke, authenticate)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bastion.auth._audit import AuditEvent, AuditTrail
from bastion.auth._errors import InvalidCredentialsError, TokenReusedError
from bastion.auth._hooks import RequestMeta
from bastion.auth._principal import IssuedTokens, Principal
from bastion.auth._records import UserRecord
from bastion.auth._repositories import AuthRepository
from bastion.auth._schemas import UserOut
from bastion.db import DatabaseUnavailableError, UnitOfWork
from bastion.security import InvalidTokenError, generate_token, hash_token

if TYPE_CHECKING:
    from bastion.auth._runtime import AuthRuntime

__all__ = ["VERIFIED_CACHE_SIZE", "SessionService", "principal_from_claims", "user_out"]

#: How many verified access tokens `principal_from_claims` remembers.
VERIFIED_CACHE_SIZE = 4096


def user_out(user: UserRecord) -> UserOut:
    """The public view of a user record."""
    return UserOut.model_validate(user, from_attributes=True)


def _uuid(value: str | None, reason: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise InvalidTokenError(reason) from exc


def principal_from_claims(runtime: AuthRuntime, access_token: str) -> Principal:
    """Verify an access token's signature and claims alone (no database).

    Roles come from the token's `roles` claim, scopes from its `scope` claim. A
    token verified before is served from `runtime.verified` until it expires:
    the signature cannot change, only time can invalidate it.

    Raises:
        InvalidTokenError: The token is not a valid access token now.
    """
    cached = runtime.verified.get(access_token)
    if cached is not None:
        principal, expires_at = cached
        if runtime.clock() < expires_at + runtime.tokens.leeway:
            return principal
        del runtime.verified[access_token]
    claims = runtime.tokens.verify_access_token(access_token)
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
    if len(runtime.verified) >= VERIFIED_CACHE_SIZE:
        runtime.verified.pop(next(iter(runtime.verified)))
    runtime.verified[access_token] = (principal, claims.expires_at)
    return principal


class SessionService:
    """Login sessions: a refresh-token family per login, an access token per rotation.

    Built per unit of work (`AuthRuntime.sessions`). Refresh tokens rotate on
    every use; a spent one presented again revokes its whole family, and that
    revocation is committed before the 401 `TOKEN_REUSED`, since it must outlive
    the error. No FastAPI here.

    Args:
        uow: The unit of work the service writes in.
        repo: The users and sessions SQL.
        runtime: The primitives (tokens, clock) and lifetimes.
        audit: Where the service's audit events go.
    """

    def __init__(
        self, uow: UnitOfWork, *, repo: AuthRepository, runtime: AuthRuntime, audit: AuditTrail
    ) -> None:
        """Bind the service to its unit of work and collaborators."""
        self.uow = uow
        self.repo = repo
        self.runtime = runtime
        self.audit = audit

    async def authenticate(self, access_token: str) -> Principal:
        """Authenticate an access token and, unless stateless, check its session is live.

        The per-request path: the session check is one primary-key read on the
        unit of work's own connection, so a request that uses its unit of work
        anyway pays one statement, no second connection.
        Stateless tokens touch no database at all.

        Raises:
            InvalidTokenError: Bad, expired, of another type, or its session is revoked.
            DatabaseUnavailableError: The database cannot be reached (503, `Retry-After`).
        """
        principal = principal_from_claims(self.runtime, access_token)
        if self.runtime.stateless:
            return principal
        roles = await self.repo.live_session_roles(
            principal.id, principal.session_id, self.runtime.now()
        )
        if roles is None:
            raise InvalidTokenError("session")
        return replace(principal, roles=frozenset(roles))

    async def issue(
        self,
        user: UserRecord,
        meta: RequestMeta,
        *,
        family_id: uuid.UUID | None = None,
        parent_id: uuid.UUID | None = None,
        absolute_expires_at: datetime | None = None,
    ) -> IssuedTokens:
        """Issue an access token and a refresh token: a new family unless `family_id` is given.

        The access token carries the user's roles and the claims of
        `AuthHooks.access_claims`; only the refresh token's hash is stored.

        Raises:
            InvalidCredentialsError: A new family for a user whose password, MFA or
                active state changed since `user` was read: what the caller
                verified no longer opens the account.
        """
        if family_id is None and not await self.repo.credentials_unchanged(user):
            raise InvalidCredentialsError()
        runtime = self.runtime
        now = runtime.now()
        absolute = absolute_expires_at or now + timedelta(seconds=runtime.absolute_ttl)
        refresh_token = generate_token()
        family = await self.repo.add_session(
            user_id=user.id,
            family_id=family_id,
            parent_id=parent_id,
            token_hash=hash_token(refresh_token),
            now=now,
            expires_at=min(now + timedelta(seconds=runtime.refresh_ttl), absolute),
            absolute_expires_at=absolute,
            user_agent=meta.user_agent,
            ip=meta.ip,
        )
        extra = dict(await runtime.hooks.access_claims(user_out(user)))
        extra["roles"] = list(user.roles)
        access = runtime.tokens.issue_access_token(
            str(user.id), session_id=str(family), claims=extra
        )
        return IssuedTokens(
            access_token=access,
            refresh_token=refresh_token,
            expires_in=runtime.tokens.access_ttl,
            session_id=family,
            user_id=user.id,
        )

    async def refresh(self, refresh_token: str, meta: RequestMeta) -> IssuedTokens:
        """Spend a refresh token, issue the next pair of its family, and commit.

        The rotation commits here, so that a commit in doubt can be settled: when
        the connection is lost during the commit, the new refresh session is
        looked up on a fresh connection, and found there the pair is returned.
        Answering 503 for a rotation that was kept would leave the client holding
        a spent token, and its retry would look like a stolen one (401
        `TOKEN_REUSED`, the family revoked).

        Raises:
            TokenReusedError: The token was already spent; its family is now revoked
                (committed before raising), the newest pair included.
            InvalidTokenError: Unknown, expired, revoked or malformed.
        """
        token_hash = hash_token(refresh_token)
        now = self.runtime.now()
        # Refreshes, revocations and credential changes of one user take turns: the
        # next pair is never written beside a revocation that cannot see it.
        await self.repo.lock_user(token_hash=token_hash)
        spent = await self.repo.spend_session(token_hash, now)
        if spent is None:
            record = await self.repo.session_by_hash(token_hash)
            if record is not None and record.spent_at is not None:
                await self.repo.revoke_families(
                    now, user_id=record.user_id, family_ids=[record.family_id]
                )
                # Security state that must outlive the 401 below (which rolls the
                # request back): the stolen family stays revoked. Committed on purpose.
                await self.uow.commit()
                self.audit.now(
                    AuditEvent.REFRESH_REUSE_DETECTED,
                    "failure",
                    user_id=record.user_id,
                    meta=meta,
                    session_id=str(record.family_id),
                )
                await self.runtime.hooks.after_token_reuse(record.user_id, record.family_id, meta)
                raise TokenReusedError()
            raise InvalidTokenError("refresh")
        user = await self.repo.active_user(spent.user_id)
        issued = await self.issue(
            user,
            meta,
            family_id=spent.family_id,
            parent_id=spent.id,
            absolute_expires_at=spent.absolute_expires_at,
        )
        try:
            await self.uow.commit()
        except DatabaseUnavailableError:
            if not await self._kept(issued):
                raise
        return issued

    async def _kept(self, issued: IssuedTokens) -> bool:
        """Whether the database holds `issued`'s refresh session, read on a fresh connection."""
        try:
            async with UnitOfWork(self.uow.sessionmaker) as fresh:
                found = await AuthRepository(fresh, self.repo.m).session_by_hash(
                    hash_token(issued.refresh_token)
                )
        except DatabaseUnavailableError:  # still unreachable: in doubt, as the 503 says
            return False
        return found is not None

    async def session_of_refresh_token(self, refresh_token: str) -> uuid.UUID | None:
        """The family a refresh token belongs to, or `None` (for binding CSRF tokens)."""
        record = await self.repo.session_by_hash(hash_token(refresh_token))
        return None if record is None else record.family_id

    async def logout(self, refresh_token: str) -> None:
        """Revoke the session (family) of a refresh token; its other sessions stay.

        Raises:
            InvalidTokenError: The token is unknown.
        """
        record = await self.repo.session_by_hash(hash_token(refresh_token))
        if record is None:
            raise InvalidTokenError("refresh")
        await self.logout_session(record.user_id, record.family_id)

    async def logout_session(self, user_id: uuid.UUID, family_id: uuid.UUID) -> None:
        """Revoke one session of a user (cookie mode logs out by the access token's `sid`).

        A session already ended (logged out, or revoked) stays so, and nothing more
        happens: no `after_logout` hook and no audit event for a logout that ended nothing.
        """
        now = self.runtime.now()
        if not await self.repo.revoke_families(now, user_id=user_id, family_ids=[family_id]):
            return
        await self.runtime.hooks.after_logout(user_id, family_id)
        self.audit.on_commit(AuditEvent.LOGOUT, user_id=user_id, session_id=str(family_id))
