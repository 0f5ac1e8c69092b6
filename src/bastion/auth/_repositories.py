"""Data access of the auth feature: users, refresh sessions and the live-session check.

Every write that guards a one-time event (spending a refresh token, a recovery
code, an MFA challenge, a TOTP step) is ONE conditional `UPDATE` whose row count
says whether this caller won, so two concurrent requests never both succeed, on
PostgreSQL and SQLite alike. Every method turns driver errors into bastion errors
(`translate_errors`): an unreachable database is a 503, never a 500.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bastion.auth._models import AuthModels
from bastion.auth._records import SessionRecord, UserRecord, rowcount, translated
from bastion.db import translate_errors, uuid7
from bastion.db._point_read import PointRead
from bastion.security import InvalidTokenError

if TYPE_CHECKING:
    from bastion.db import UnitOfWork

__all__ = ["AuthRepository"]

_NO_SYNC = {"synchronize_session": False}


@lru_cache(maxsize=16)
def _live_session_query(models: AuthModels) -> PointRead[list[str]]:
    """The live-session check's statement, built once per set of models.

    It runs on every authenticated request: building and compiling a statement
    each time would cost more than running it. Bound parameters carry the
    request's values, so the one statement serves every request.
    """
    user, root = models.user, models.session
    statement = (
        select(user.roles)
        .join(root, root.user_id == user.id)
        .where(
            root.id == bindparam("family_id"),
            user.id == bindparam("user_id"),
            root.revoked_at.is_(None),
            root.absolute_expires_at > bindparam("now"),
            user.is_active.is_(True),
        )
    )
    return PointRead(statement)


class AuthRepository:
    """SQL for the auth feature over the host's models, in a unit of work's session.

    The session is reached on each statement, not when the repository is
    built: a request that never queries (stateless tokens) opens none.
    """

    def __init__(self, uow: UnitOfWork, models: AuthModels) -> None:
        """Bind the repository to a unit of work and the host's models."""
        self.uow = uow
        self.m = models

    @cached_property
    def _user_columns(
        self,
    ) -> tuple[
        InstrumentedAttribute[uuid.UUID],
        InstrumentedAttribute[str],
        InstrumentedAttribute[str],
        InstrumentedAttribute[bool],
        InstrumentedAttribute[list[str]],
        InstrumentedAttribute[bool],
        InstrumentedAttribute[str | None],
        InstrumentedAttribute[int | None],
        InstrumentedAttribute[datetime],
    ]:
        # The columns of a `UserRecord`, in its field order; looked up when first
        # needed, since the per-request session check needs none of them.
        user = self.m.user
        return (
            user.id,
            user.email,
            user.password_hash,
            user.is_active,
            user.roles,
            user.mfa_enabled,
            user.totp_secret_encrypted,
            user.totp_last_step,
            user.created_at,
        )

    @property
    def session(self) -> AsyncSession:
        """The unit of work's session (opened on first use)."""
        return self.uow.session

    # -- users ---------------------------------------------------------------
    async def add_user(
        self,
        *,
        email: str,
        password_hash: str,
        roles: Sequence[str],
        now: datetime,
        extra: Mapping[str, object],
    ) -> UserRecord:
        """Insert a user; a taken e-mail raises `DuplicateError` with code `EMAIL_TAKEN`."""
        values = {
            "email": email,
            "password_hash": password_hash,
            "is_active": True,
            "roles": list(roles),
            "mfa_enabled": False,
            "created_at": now,
            "updated_at": now,
            **extra,
        }
        stmt = insert(self.m.user).values(values).returning(*self._user_columns)
        codes = {self.m.email_constraint: "EMAIL_TAKEN"}
        with translate_errors(codes=codes, metadata=self.m.user.metadata):  # type: ignore[attr-defined]  # declarative class
            row = (await self.session.execute(stmt)).one()
        return UserRecord(*row)

    @translated
    async def user_by_email(self, email: str) -> UserRecord | None:
        """The user with this (normalized) e-mail, or `None`."""
        stmt = select(*self._user_columns).where(self.m.user.email == email)
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else UserRecord(*row)

    @translated
    async def user_by_id(self, user_id: uuid.UUID) -> UserRecord | None:
        """The user with this id, or `None`."""
        stmt = select(*self._user_columns).where(self.m.user.id == user_id)
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else UserRecord(*row)

    async def active_user(self, user_id: uuid.UUID) -> UserRecord:
        """The active user with this id.

        Raises:
            InvalidTokenError: No such user, or deactivated (the credentials are dead).
        """
        user = await self.user_by_id(user_id)
        if user is None or not user.is_active:
            raise InvalidTokenError("inactive")
        return user

    @translated
    async def user_entity(self, user_id: uuid.UUID) -> object | None:
        """The user entity (every column of the host's model), for validating a host schema."""
        stmt = select(self.m.user).where(self.m.user.id == user_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    @translated
    async def update_user(self, user_id: uuid.UUID, now: datetime, **values: object) -> None:
        """Set columns of a user."""
        stmt = (
            update(self.m.user)
            .where(self.m.user.id == user_id)
            .values(updated_at=now, **values)
            .execution_options(**_NO_SYNC)
        )
        await self.session.execute(stmt)

    @translated
    async def rehash_password(
        self, user_id: uuid.UUID, old_hash: str, new_hash: str, now: datetime
    ) -> bool:
        """Store a stronger hash of the same password, unless the password changed meanwhile."""
        user = self.m.user
        stmt = (
            update(user)
            .where(user.id == user_id, user.password_hash == old_hash)
            .values(updated_at=now, password_hash=new_hash)
            .execution_options(**_NO_SYNC)
        )
        return rowcount(await self.session.execute(stmt)) == 1

    @translated
    async def list_users(self, *, limit: int, offset: int) -> list[UserRecord]:
        """Users by creation time."""
        stmt = (
            select(*self._user_columns)
            .order_by(self.m.user.created_at, self.m.user.id)
            .limit(limit)
            .offset(offset)
        )
        return [UserRecord(*row) for row in await self.session.execute(stmt)]

    # -- the user row locks its sessions ---------------------------------------
    # On PostgreSQL a revocation's UPDATE cannot see a session row that a concurrent
    # transaction inserted and has not committed yet. So whatever writes a user's
    # sessions locks the user's row first: revocations (and the credential changes
    # that update the row anyway) and refreshes exclusively, new logins shared. One
    # of two racing transactions then waits for the other's commit, and finds what
    # it wrote. SQLite, whose writers take the database's lock up front, needs none.
    @translated
    async def lock_user(
        self, *, user_id: uuid.UUID | None = None, token_hash: str | None = None
    ) -> None:
        """Lock the user row (by id, or of a refresh token) against session writes."""
        user, s = self.m.user, self.m.session
        stmt = select(user.id)
        if token_hash is not None:
            stmt = stmt.join(s, s.user_id == user.id).where(s.token_hash == token_hash)
        else:
            stmt = stmt.where(user.id == user_id)
        await self.session.execute(stmt.with_for_update(of=user, key_share=True))

    @translated
    async def credentials_unchanged(self, user: UserRecord) -> bool:
        """Whether the user's row still holds what `user` was checked against, locked shared.

        A new session is issued only under this check: a login whose password was
        verified while a password change, an MFA change or a deactivation
        committed would otherwise open a session that change never revoked.
        """
        u = self.m.user
        stmt = (
            select(u.password_hash, u.mfa_enabled, u.is_active)
            .where(u.id == user.id)
            .with_for_update(of=u, read=True)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return row is not None and tuple(row) == (
            user.password_hash,
            user.mfa_enabled,
            user.is_active,
        )

    # -- refresh sessions ------------------------------------------------------
    @translated
    async def add_session(
        self,
        *,
        user_id: uuid.UUID,
        family_id: uuid.UUID | None,
        parent_id: uuid.UUID | None,
        token_hash: str,
        now: datetime,
        expires_at: datetime,
        absolute_expires_at: datetime,
        user_agent: str | None,
        ip: str | None,
    ) -> uuid.UUID:
        """Insert a refresh token row; a new family when `family_id` is `None`. Returns the family."""
        row_id = uuid7()
        family = family_id if family_id is not None else row_id
        stmt = insert(self.m.session).values(
            id=row_id,
            user_id=user_id,
            family_id=family,
            parent_id=parent_id,
            token_hash=token_hash,
            issued_at=now,
            expires_at=expires_at,
            absolute_expires_at=absolute_expires_at,
            user_agent=user_agent,
            ip=ip,
        )
        await self.session.execute(stmt)
        return family

    @translated
    async def spend_session(self, token_hash: str, now: datetime) -> SessionRecord | None:
        """Spend a live, unspent token atomically; `None` when this caller did not win."""
        s = self.m.session
        stmt = (
            update(s)
            .where(
                s.token_hash == token_hash,
                s.spent_at.is_(None),
                s.revoked_at.is_(None),
                s.expires_at > now,
                s.absolute_expires_at > now,
            )
            .values(spent_at=now)
            .execution_options(**_NO_SYNC)
        )
        if rowcount(await self.session.execute(stmt)) != 1:
            return None
        return await self.session_by_hash(token_hash)

    @translated
    async def session_by_hash(self, token_hash: str) -> SessionRecord | None:
        """The refresh token row with this hash, or `None`."""
        s = self.m.session
        stmt = select(
            s.id,
            s.user_id,
            s.family_id,
            s.expires_at,
            s.absolute_expires_at,
            s.spent_at,
            s.revoked_at,
        ).where(s.token_hash == token_hash)
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else SessionRecord(*row)

    @translated
    async def revoke_families(
        self,
        now: datetime,
        *,
        user_id: uuid.UUID,
        family_ids: Iterable[uuid.UUID] = (),
        keep_family: uuid.UUID | None = None,
    ) -> int:
        """Revoke whole families of a user: the ones named, or all but `keep_family`.

        The user's row is locked first (`lock_user`), so a refresh or login under
        way either commits before and is revoked here, or waits and sees the
        revocation.
        """
        s = self.m.session
        conditions: list[ColumnElement[bool]] = [s.user_id == user_id, s.revoked_at.is_(None)]
        families = list(family_ids)
        if families:
            conditions.append(s.family_id.in_(families))
        elif keep_family is not None:
            conditions.append(s.family_id != keep_family)
        await self.lock_user(user_id=user_id)
        stmt = update(s).where(*conditions).values(revoked_at=now).execution_options(**_NO_SYNC)
        return rowcount(await self.session.execute(stmt))

    async def live_session_roles(
        self, user_id: uuid.UUID, family_id: uuid.UUID, now: datetime
    ) -> list[str] | None:
        """The roles of an active user whose session is live, or `None` (one indexed read).

        Runs on the session's connection, straight to its driver (`PointRead`): it
        is on the path of every authenticated request, so it does the least work
        that answers. Checking out the connection is where an unreachable database
        shows first: translated too, so it is a 503, not a 500.
        """
        params = {"family_id": family_id, "user_id": user_id, "now": now}
        with translate_errors():
            connection = await self.session.connection()
        roles = await _live_session_query(self.m).scalar(connection, params)
        return None if roles is None else list(roles)
