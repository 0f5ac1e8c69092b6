"""`AuthService`: every auth rule (registration, login, sessions, passwords, MFA, roles)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.auth.errors import EmailTakenError, InvalidCredentialsError, TokenReusedError
from bastion.auth.hooks import RequestMeta
from bastion.auth.kit import AuthKit
from bastion.auth.mfa import MfaSteps
from bastion.auth.models import AuthModels
from bastion.auth.principal import IssuedTokens, MfaPending, Principal
from bastion.auth.repositories import UserRecord, live_session_roles
from bastion.auth.schemas import UserCreate, UserOut, normalize_email
from bastion.core.errors import NotFoundError, PermissionDeniedError, ServiceUnavailableError
from bastion.db.errors import DuplicateError, translate_errors
from bastion.security.crypto import hash_token
from bastion.security.errors import InvalidTokenError
from bastion.security.tokens import MFA_TOKEN_TYPE

__all__ = [
    "ADMIN_ROLE",
    "VERIFIED_CACHE_SIZE",
    "AuthService",
    "authenticate_token",
    "principal_from_claims",
]

#: The role `GET /admin/users` and the admin command use.
ADMIN_ROLE = "admin"
SchemaT = TypeVar("SchemaT", bound=BaseModel)


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
    kit: AuthKit, models: AuthModels, engine: AsyncEngine | None, access_token: str
) -> Principal:
    """Authenticate an access token, checking its session on `engine` unless stateless.

    The per-request path: one read on a pooled connection, no ORM session.

    Raises:
        InvalidTokenError: Bad, expired, of another type, or its session is revoked.
        ServiceUnavailableError: Sessions are checked but no database is configured.
        DatabaseUnavailableError: The database cannot be reached (503, `Retry-After`).
    """
    principal = principal_from_claims(kit, access_token)
    if kit.stateless:
        return principal
    if engine is None:
        raise ServiceUnavailableError("The database is not configured.")
    # Autocommit: one statement, no BEGIN/ROLLBACK round trips, and on SQLite
    # no write lock taken for a read. Checking out the connection is where an
    # unreachable database shows first: translated, so it is a 503, not a 500.
    with translate_errors():
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            roles = await live_session_roles(
                connection, models, principal.id, principal.session_id, kit.now()
            )
    if roles is None:
        raise InvalidTokenError("session")
    return replace(principal, roles=frozenset(roles))


class AuthService(MfaSteps):
    """Registration, login, token rotation, sessions, passwords, MFA and roles.

    Stateless: built per request on the request's `UnitOfWork`, which commits
    when the request succeeds and rolls back when it answers an error. The
    service commits itself only the security state that must outlive an error:
    the family revocation of a reused refresh token (before the 401
    `TOKEN_REUSED`) and a one-time code or TOTP step once accepted. Login
    throttle counters live in the rate limiter's storage, outside the
    transaction. No FastAPI here.
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
        budgets = self.throttle.login(meta.ip, email)
        await self.throttle.check(budgets)
        user = await self.repo.user_by_email(email)
        # End the read before the slow hash: no connection, lock or snapshot is held
        # while argon2 runs (on SQLite a stale read snapshot could not write afterwards).
        await self.uow.rollback()
        client = await self._spend_hash(meta)
        if user is None:
            await self.kit.hasher.verify_dummy(password, client=client)
        elif (
            await self.kit.hasher.verify(user.password_hash, password, client=client)
            and user.is_active
        ):
            await self.throttle.forgive(budgets)
            return await self._after_password(user, password, meta)
        await self.throttle.fail(budgets)
        await self.hooks.after_failed_login(email, meta)
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

    async def authenticate(self, access_token: str) -> Principal:
        """Verify an access token and, unless stateless, that its session is live.

        Raises:
            InvalidTokenError: Bad, expired, of another type, or its session is revoked.
        """
        principal = principal_from_claims(self.kit, access_token)
        if self.kit.stateless:
            return principal
        with translate_errors():
            connection = await self.uow.session.connection()
        roles = await live_session_roles(
            connection,
            self.models,
            principal.id,
            principal.session_id,
            self.kit.now(),
        )
        if roles is None:
            raise InvalidTokenError("session")
        return replace(principal, roles=frozenset(roles))

    # -- account ---------------------------------------------------------------------
    async def change_password(
        self, principal: Principal, current: str, new: str, meta: RequestMeta | None = None
    ) -> None:
        """Change the password; revoke every other session of the user.

        Wrong current passwords count as in `login` (`AuthThrottle.password`).

        Raises:
            InvalidCredentialsError: `current` is wrong.
            WeakPasswordError: `new` fails the policy.
            RateLimitedError: A budget is spent, or the client has a hash under way.
            ServiceUnavailableError: The throttle's storage is down, or the hash queue full.
        """
        user = await self._user(principal)
        await self.uow.rollback()  # as in `login`: hold nothing while argon2 runs
        budgets = self.throttle.password(user.id, user.email)
        await self.throttle.check(budgets)
        client = await self._spend_hash(meta)
        if not await self.kit.hasher.verify(user.password_hash, current, client=client):
            await self.throttle.fail(budgets)
            raise InvalidCredentialsError()
        await self.throttle.forgive(budgets)
        await self.kit.policy.validate(new, email=user.email)
        now = self.kit.now()
        new_hash = await self.kit.hasher.hash(new, client=client)
        await self.repo.update_user(user.id, now, password_hash=new_hash)
        await self.repo.revoke_families(now, user_id=user.id, keep_family=principal.session_id)
        await self.hooks.after_password_change(self.user_out(user))

    async def set_active(self, user_id: uuid.UUID, *, active: bool) -> None:
        """Activate or deactivate a user; deactivation revokes every session."""
        now = self.kit.now()
        await self.repo.update_user(user_id, now, is_active=active)
        if not active:
            await self.repo.revoke_families(now, user_id=user_id)

    async def grant_role(self, email: str, role: str) -> UserOut:
        """Add `role` to the user with this e-mail (for admin commands, not HTTP).

        Returns:
            The user as it is after the change (`role` among its roles).

        Raises:
            NotFoundError: No such user.
        """
        user = await self.repo.user_by_email(normalize_email(email))
        if user is None:
            raise NotFoundError()
        if role not in user.roles:
            user = replace(user, roles=[*user.roles, role])
            await self.repo.update_user(user.id, self.kit.now(), roles=user.roles)
        return self.user_out(user)

    async def list_users(
        self, principal: Principal, *, limit: int = 50, offset: int = 0
    ) -> list[UserOut]:
        """Every user, for administrators only.

        Raises:
            PermissionDeniedError: The principal lacks the `admin` role.
        """
        if not principal.has_roles(ADMIN_ROLE):
            raise PermissionDeniedError()
        users = await self.repo.list_users(limit=limit, offset=offset)
        return [self.user_out(user) for user in users]
