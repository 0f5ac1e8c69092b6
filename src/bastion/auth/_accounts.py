"""`AccountService`: registration, login, passwords, and what administrators do to users."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from bastion.auth._audit import AuditEvent, AuditTrail
from bastion.auth._errors import EmailTakenError, InvalidCredentialsError
from bastion.auth._hooks import RequestMeta
from bastion.auth._mfa import MfaService
from bastion.auth._principal import IssuedTokens, MfaPending, Principal
from bastion.auth._records import UserRecord
from bastion.auth._repositories import AuthRepository
from bastion.auth._schemas import UserCreate, UserOut, normalize_email
from bastion.auth._sessions import SessionService, user_out
from bastion.auth._throttle import HASH_IN_FLIGHT, AuthThrottle
from bastion.db import DuplicateError
from bastion.errors import NotFoundError, PermissionDeniedError, RateLimitedError

if TYPE_CHECKING:
    from bastion.auth._runtime import AuthRuntime
    from bastion.db import UnitOfWork

__all__ = ["ADMIN_ROLE", "AccountService"]

#: The role `GET /admin/users` and the admin command use.
ADMIN_ROLE = "admin"

SchemaT = TypeVar("SchemaT", bound=BaseModel)
_T = TypeVar("_T")


class AccountService:
    """Registration, password login, password change, activation, roles and the user list.

    Built per unit of work (`AuthRuntime.accounts`), which commits when the
    request succeeds and rolls back when it answers an error. A right password
    hands over to `MfaService` (MFA on) or `SessionService` (the session is
    issued). Login throttle counters live in the limiter's storage, outside the
    transaction. No FastAPI here.

    Every step records its audit event (`bastion.auth.AuditEvent`) on the
    `bastion.audit` logger: a success once its write is committed, a failure or
    throttle when it happens.

    Args:
        uow: The unit of work the service writes in.
        repo: The users and sessions SQL.
        runtime: The primitives (hasher, policy) and hooks.
        throttle: The budgets wrong passwords count in.
        audit: Where the service's audit events go.
        sessions: Issues sessions after a login, revokes them after changes.
        mfa: Opens a login's second factor when MFA is on.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        repo: AuthRepository,
        runtime: AuthRuntime,
        throttle: AuthThrottle,
        audit: AuditTrail,
        sessions: SessionService,
        mfa: MfaService,
    ) -> None:
        """Bind the service to its unit of work and collaborators."""
        self.uow = uow
        self.repo = repo
        self.runtime = runtime
        self.throttle = throttle
        self.audit = audit
        self.sessions = sessions
        self.mfa = mfa

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
        await self.runtime.policy.validate(password, email=email)
        client = await self._spend_hash(meta)
        password_hash = await self._hashing(self.runtime.hasher.hash(password, client=client))
        try:
            user = await self.repo.add_user(
                email=email,
                password_hash=password_hash,
                roles=roles,
                now=self.runtime.now(),
                extra=extra or {},
            )
        except DuplicateError as exc:
            raise EmailTakenError() from exc
        created = user_out(user)
        await self.runtime.hooks.after_register(created)
        self.audit.on_commit(AuditEvent.REGISTERED, user_id=user.id, meta=meta)
        for role in user.roles:
            self.audit.on_commit(AuditEvent.ROLE_GRANTED, user_id=user.id, meta=meta, role=role)
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
        before the hash and counted before the answer: an outage spends nothing.

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
            self.audit.now(
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
            await self._hashing(self.runtime.hasher.verify_dummy(password, client=client))
            reason = "unknown_account"
        elif await self._hashing(
            self.runtime.hasher.verify(user.password_hash, password, client=client)
        ):
            if user.is_active:
                await self.throttle.forgive(budgets)
                return await self._after_password(user, password, meta)
            reason = "inactive"
        else:
            reason = "wrong_password"
        await self.throttle.fail(budgets)
        await self.runtime.hooks.after_failed_login(email, meta)
        self.audit.now(
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
        if self.runtime.hasher.needs_rehash(user.password_hash):
            new_hash = await self._hashing(self.runtime.hasher.hash(password, client=meta.ip))
            now = self.runtime.now()
            if await self.repo.rehash_password(user.id, user.password_hash, new_hash, now):
                user = replace(user, password_hash=new_hash)
            else:  # rehashed by another login, or changed: the stored hash must still open
                user = await self._still_opens(user.id, password, meta)
        if user.mfa_enabled:
            return await self.mfa.challenge(user)
        issued = await self.sessions.issue(user, meta)
        await self.runtime.hooks.after_login(user_out(user), meta)
        self.audit.on_commit(
            AuditEvent.LOGIN_SUCCEEDED,
            user_id=user.id,
            meta=meta,
            session_id=str(issued.session_id),
            mfa=False,
        )
        return issued

    async def _still_opens(
        self, user_id: uuid.UUID, password: str, meta: RequestMeta
    ) -> UserRecord:
        """The user as stored now, if `password` opens its hash; else 401."""
        user = await self.repo.user_by_id(user_id)
        verify = self.runtime.hasher.verify
        if user is None or not await self._hashing(
            verify(user.password_hash, password, client=meta.ip)
        ):
            raise InvalidCredentialsError()
        return user

    async def _hashing(self, call: Awaitable[_T]) -> _T:
        """Await a hash of the client's; the 429 for one already under way reports its limit.

        Without the report, that 429 would carry the `RateLimit-*` headers of a
        budget with hits left.
        """
        try:
            return await call
        except RateLimitedError:
            self.throttle.report(HASH_IN_FLIGHT)
            raise

    async def _spend_hash(self, meta: RequestMeta | None) -> str | None:
        """Count a password hash in the client's budget; the client the hasher knows it by."""
        ip = None if meta is None else meta.ip
        if ip is not None:
            await self.throttle.spend(self.throttle.hashing(ip))
        return ip

    # -- the account ----------------------------------------------------------------
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
        user = await self.repo.active_user(principal.id)
        await self.uow.rollback()  # as in `login`: hold nothing while argon2 runs
        budgets = self.throttle.password(user.id, user.email)
        await self.throttle.check(budgets)
        client = await self._spend_hash(meta)
        if not await self._hashing(
            self.runtime.hasher.verify(user.password_hash, current, client=client)
        ):
            await self.throttle.fail(budgets)
            raise InvalidCredentialsError()
        await self.throttle.forgive(budgets)
        await self.runtime.policy.validate(new, email=user.email)
        now = self.runtime.now()
        new_hash = await self._hashing(self.runtime.hasher.hash(new, client=client))
        await self.repo.update_user(user.id, now, password_hash=new_hash)
        await self.repo.revoke_families(now, user_id=user.id, keep_family=principal.session_id)
        await self.runtime.hooks.after_password_change(user_out(user))
        self.audit.on_commit(AuditEvent.PASSWORD_CHANGED, user_id=user.id, meta=meta)

    async def set_active(self, user_id: uuid.UUID, *, active: bool) -> None:
        """Activate or deactivate a user; deactivation revokes every session.

        Access tokens of a deactivated user stop working at their next request
        (unless tokens are stateless).
        """
        now = self.runtime.now()
        await self.repo.update_user(user_id, now, is_active=active)
        if not active:
            await self.repo.revoke_families(now, user_id=user_id)
        event = AuditEvent.USER_ACTIVATED if active else AuditEvent.USER_DEACTIVATED
        self.audit.on_commit(event, user_id=user_id)

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
            await self.repo.update_user(user.id, self.runtime.now(), roles=user.roles)
            self.audit.on_commit(AuditEvent.ROLE_GRANTED, user_id=user.id, role=role)
        return user_out(user)

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
        return [user_out(user) for user in users]
