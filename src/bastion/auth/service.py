"""`AuthService`: every auth rule (registration, login, sessions, passwords, MFA, roles)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel

from bastion.auth.access import VERIFIED_CACHE_SIZE, authenticate_token, principal_from_claims
from bastion.auth.account import ADMIN_ROLE, AccountSteps
from bastion.auth.audit import AuditEvent
from bastion.auth.errors import EmailTakenError, InvalidCredentialsError, TokenReusedError
from bastion.auth.hooks import RequestMeta
from bastion.auth.mfa import MfaSteps
from bastion.auth.principal import IssuedTokens, MfaPending, Principal
from bastion.auth.repositories import UserRecord
from bastion.auth.schemas import UserCreate, UserOut, normalize_email
from bastion.db.errors import DuplicateError
from bastion.errors import (
    NotFoundError,
    RateLimitedError,
)
from bastion.security import MFA_TOKEN_TYPE, InvalidTokenError, hash_token

__all__ = [
    "ADMIN_ROLE",
    "VERIFIED_CACHE_SIZE",
    "AuthService",
    "authenticate_token",
    "principal_from_claims",
]

SchemaT = TypeVar("SchemaT", bound=BaseModel)


class AuthService(AccountSteps, MfaSteps):
    """Registration, login, token rotation, sessions, passwords, MFA and roles.

    Stateless: built per request on the request's `UnitOfWork`, which commits
    when the request succeeds and rolls back when it answers an error. The
    service commits itself only the security state that must outlive an error:
    the family revocation of a reused refresh token (before the 401
    `TOKEN_REUSED`) and a one-time code or TOTP step once accepted. Login
    throttle counters live in the rate limiter's storage, outside the
    transaction. No FastAPI here.

    Every step records its audit event (`bastion.auth.AuditEvent`) on the
    `bastion.audit` logger: a success once its write is committed, a failure,
    throttle or reuse when it happens.
    """

    # -- registration ------------------------------------------------------------
    async def create_user(
        self,
        email: str,
        password: str,
        *,
        roles: Sequence[str] = (),
        extra: Mapping[str, object] | None = None,
        meta: RequestMeta | None = None,
    ) -> UserOut:
        """Create a user after the password policy; 409 `EMAIL_TAKEN` on a duplicate.

        With `meta`, the hash counts in the client IP's hashing budget.

        Returns:
            The new user, without its password hash.

        Raises:
            WeakPasswordError: The password fails the policy (422, with reasons).
            EmailTakenError: The e-mail is taken.
            RateLimitedError: The hashing budget is spent, or the client has a hash under way.
            ServiceUnavailableError: The hash queue is full.
        """
        email = normalize_email(email)
        await self.kit.policy.validate(password, email=email)
        client = await self._spend_hash(meta)
        password_hash = await self.kit.hasher.hash(password, client=client)
        try:
            user = await self.repo.add_user(
                email=email,
                password_hash=password_hash,
                roles=roles,
                now=self.kit.now(),
                extra=extra or {},
            )
        except DuplicateError as exc:
            raise EmailTakenError() from exc
        created = self.user_out(user)
        await self.hooks.after_register(created)
        self._audit_on_commit(AuditEvent.REGISTERED, user_id=user.id, meta=meta)
        for role in user.roles:
            self._audit_on_commit(AuditEvent.ROLE_GRANTED, user_id=user.id, meta=meta, role=role)
        return created

    async def register(
        self, data: UserCreate, schema: type[SchemaT], meta: RequestMeta | None = None
    ) -> SchemaT:
        """Register a user from `data` (extra fields of a host subclass become columns)."""
        extra = data.model_dump(exclude={"email", "password"})
        user = await self.create_user(data.email, data.password, extra=extra, meta=meta)
        return await self.load_user(user.id, schema)

    async def load_user(self, user_id: uuid.UUID, schema: type[SchemaT]) -> SchemaT:
        """Load a user as `schema` (any fields of the host's user model).

        Raises:
            NotFoundError: No such user.
        """
        entity = await self.repo.user_entity(user_id)
        if entity is None:
            raise NotFoundError()
        return schema.model_validate(entity, from_attributes=True)

    # -- login and sessions ----------------------------------------------------------
    async def login(
        self, username: str, password: str, meta: RequestMeta
    ) -> IssuedTokens | MfaPending:
        """Check a password; issue tokens, or an MFA token when MFA is on.

        Every failure (unknown e-mail, wrong password, inactive account) costs
        exactly one hash verification and raises the same error. Failures count
        per (client IP, e-mail) and per e-mail (`AuthThrottle.login`), checked
        before and counted after the verdict: an outage spends nothing.

        Raises:
            RateLimitedError: A budget is spent, or the client has a hash under way.
            ServiceUnavailableError: The throttle's storage is down, or the hash queue full.
            InvalidCredentialsError: The credentials do not open an active account.
        """
        email = normalize_email(username)
        try:
            return await self._login(email, password, meta)
        except RateLimitedError:
            account = self.throttle.identity(email)
            self._audit(
                AuditEvent.LOGIN_THROTTLED,
                "throttled",
                user_id=None,
                meta=meta,
                account=account,
                factor="password",
            )
            raise

    async def _login(
        self, email: str, password: str, meta: RequestMeta
    ) -> IssuedTokens | MfaPending:
        budgets = self.throttle.login(meta.ip, email)
        await self.throttle.check(budgets)
        user = await self.repo.user_by_email(email)
        # End the read before the slow hash: no connection, lock or snapshot is held
        # while argon2 runs (on SQLite a stale read snapshot could not write afterwards).
        await self.uow.rollback()
        client = await self._spend_hash(meta)
        if user is None:
            await self.kit.hasher.verify_dummy(password, client=client)
            reason = "unknown_account"
        elif await self.kit.hasher.verify(user.password_hash, password, client=client):
            if user.is_active:
                await self.throttle.forgive(budgets)
                return await self._after_password(user, password, meta)
            reason = "inactive"
        else:
            reason = "wrong_password"
        await self.throttle.fail(budgets)
        await self.hooks.after_failed_login(email, meta)
        self._audit(
            AuditEvent.LOGIN_FAILED,
            "failure",
            user_id=None if user is None else user.id,
            meta=meta,
            account=self.throttle.identity(email),
            reason=reason,
        )
        raise InvalidCredentialsError()

    async def _after_password(
        self, user: UserRecord, password: str, meta: RequestMeta
    ) -> IssuedTokens | MfaPending:
        if self.kit.hasher.needs_rehash(user.password_hash):
            new_hash = await self.kit.hasher.hash(password, client=meta.ip)
            await self.repo.update_user(user.id, self.kit.now(), password_hash=new_hash)
        if user.mfa_enabled:
            expires = self.kit.now() + timedelta(seconds=self.kit.tokens.mfa_ttl)
            challenge = await self.repo.add_challenge(user.id, expires)
            token = self.kit.tokens.encode(
                str(user.id),
                token_type=MFA_TOKEN_TYPE,
                ttl=self.kit.tokens.mfa_ttl,
                session_id=str(challenge),
            )
            return MfaPending(mfa_token=token)
        issued = await self._issue(user, meta)
        await self.hooks.after_login(self.user_out(user), meta)
        self._audit_on_commit(
            AuditEvent.LOGIN_SUCCEEDED,
            user_id=user.id,
            meta=meta,
            session_id=str(issued.session_id),
            mfa=False,
        )
        return issued

    async def refresh(self, refresh_token: str, meta: RequestMeta) -> IssuedTokens:
        """Spend a refresh token and issue the next pair of its family.

        Raises:
            TokenReusedError: The token was already spent; its family is now revoked
                (committed before raising), the newest pair included.
            InvalidTokenError: Unknown, expired, revoked or malformed.
        """
        token_hash = hash_token(refresh_token)
        now = self.kit.now()
        spent = await self.repo.spend_session(token_hash, now)
        if spent is None:
            record = await self.repo.session_by_hash(token_hash)
            if record is not None and record.spent_at is not None:
                await self.repo.revoke_families(now, family_ids=[record.family_id])
                # Security state that must outlive the 401 below (which rolls the
                # request back): the stolen family stays revoked. Committed on purpose.
                await self.uow.commit()
                self._audit(
                    AuditEvent.REFRESH_REUSE_DETECTED,
                    "failure",
                    user_id=record.user_id,
                    meta=meta,
                    session_id=str(record.family_id),
                )
                await self.hooks.after_token_reuse(record.user_id, record.family_id, meta)
                raise TokenReusedError()
            raise InvalidTokenError("refresh")
        user = await self.repo.user_by_id(spent.user_id)
        if user is None or not user.is_active:
            raise InvalidTokenError("inactive")
        return await self._issue(
            user,
            meta,
            family_id=spent.family_id,
            parent_id=spent.id,
            absolute_expires_at=spent.absolute_expires_at,
        )

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
        """Revoke one session of a user (cookie mode logs out by the access token's `sid`)."""
        await self.repo.revoke_families(self.kit.now(), family_ids=[family_id])
        await self.hooks.after_logout(user_id, family_id)
        self._audit_on_commit(AuditEvent.LOGOUT, user_id=user_id, session_id=str(family_id))

    async def authenticate(self, access_token: str) -> Principal:
        """Verify an access token and, unless stateless, that its session is live.

        Raises:
            InvalidTokenError: Bad, expired, of another type, or its session is revoked.
        """
        return await authenticate_token(self.kit, self.models, self.uow, access_token)
