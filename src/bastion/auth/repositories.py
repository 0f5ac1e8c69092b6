"""Data access of the auth feature: users, refresh sessions, recovery codes, MFA challenges.

Every write that guards a one-time event (spending a refresh token, a recovery
code, an MFA challenge, a TOTP step) is ONE conditional `UPDATE` whose row count
says whether this caller won, so two concurrent requests never both succeed, on
PostgreSQL and SQLite alike. Every method turns driver errors into bastion errors
(`translate_errors`): an unreachable database is a 503, never a 500.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ParamSpec, TypeVar

from sqlalchemy import ColumnElement, CursorResult, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.auth.errors import MfaStateError
from bastion.auth.liveness import live_session_roles
from bastion.auth.models import AuthModels, MfaChallengeMixin, RecoveryCodeMixin
from bastion.db import translate_errors, uuid7

__all__ = ["AuthRepository", "SessionRecord", "UserRecord", "live_session_roles"]

_NO_SYNC = {"synchronize_session": False}
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _translated(method: Callable[_P, Awaitable[_R]]) -> Callable[_P, Awaitable[_R]]:
    """Run `method` inside `translate_errors`."""

    @functools.wraps(method)
    async def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with translate_errors():
            return await method(*args, **kwargs)

    return run


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user row as the service sees it (secrets included: never rendered)."""

    id: uuid.UUID
    email: str
    password_hash: str
    is_active: bool
    roles: list[str]
    mfa_enabled: bool
    totp_secret_encrypted: str | None
    totp_last_step: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A refresh-session row (one token of a family)."""

    id: uuid.UUID
    user_id: uuid.UUID
    family_id: uuid.UUID
    expires_at: datetime
    absolute_expires_at: datetime
    spent_at: datetime | None
    revoked_at: datetime | None


def _rowcount(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0


class AuthRepository:
    """SQL for the auth feature over the host's models, on the unit of work's session."""

    def __init__(self, session: AsyncSession, models: AuthModels) -> None:
        """Bind the repository to a session and the host's models."""
        self.session = session
        self.m = models
        user = models.user
        self._user_columns = (
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

    @_translated
    async def user_by_email(self, email: str) -> UserRecord | None:
        """The user with this (normalized) e-mail, or `None`."""
        stmt = select(*self._user_columns).where(self.m.user.email == email)
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else UserRecord(*row)

    @_translated
    async def user_by_id(self, user_id: uuid.UUID) -> UserRecord | None:
        """The user with this id, or `None`."""
        stmt = select(*self._user_columns).where(self.m.user.id == user_id)
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else UserRecord(*row)

    @_translated
    async def user_entity(self, user_id: uuid.UUID) -> object | None:
        """The user entity (every column of the host's model), for validating a host schema."""
        stmt = select(self.m.user).where(self.m.user.id == user_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    @_translated
    async def update_user(self, user_id: uuid.UUID, now: datetime, **values: object) -> None:
        """Set columns of a user."""
        stmt = (
            update(self.m.user)
            .where(self.m.user.id == user_id)
            .values(updated_at=now, **values)
            .execution_options(**_NO_SYNC)
        )
        await self.session.execute(stmt)

    @_translated
    async def claim_totp_step(self, user_id: uuid.UUID, step: int) -> bool:
        """Record `step` as the last TOTP step used, unless it (or a later one) already was."""
        user = self.m.user
        stmt = (
            update(user)
            .where(
                user.id == user_id,
                or_(user.totp_last_step.is_(None), user.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(**_NO_SYNC)
        )
        return _rowcount(await self.session.execute(stmt)) == 1

    @_translated
    async def list_users(self, *, limit: int, offset: int) -> list[UserRecord]:
        """Users by creation time."""
        stmt = (
            select(*self._user_columns)
            .order_by(self.m.user.created_at, self.m.user.id)
            .limit(limit)
            .offset(offset)
        )
        return [UserRecord(*row) for row in await self.session.execute(stmt)]

    @_translated
    async def count_users(self) -> int:
        """How many users exist."""
        stmt = select(func.count()).select_from(self.m.user)
        return int((await self.session.execute(stmt)).scalar_one())

    # -- refresh sessions ------------------------------------------------------
    @_translated
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

    @_translated
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
        if _rowcount(await self.session.execute(stmt)) != 1:
            return None
        return await self.session_by_hash(token_hash)

    @_translated
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

    @_translated
    async def revoke_families(
        self,
        now: datetime,
        *,
        family_ids: Iterable[uuid.UUID] = (),
        user_id: uuid.UUID | None = None,
        keep_family: uuid.UUID | None = None,
    ) -> int:
        """Revoke whole families: the ones named, or every one of `user_id` except `keep_family`."""
        s = self.m.session
        conditions: list[ColumnElement[bool]] = [s.revoked_at.is_(None)]
        families = list(family_ids)
        if families:
            conditions.append(s.family_id.in_(families))
        elif user_id is not None:
            conditions.append(s.user_id == user_id)
            if keep_family is not None:
                conditions.append(s.family_id != keep_family)
        else:
            return 0
        stmt = update(s).where(*conditions).values(revoked_at=now).execution_options(**_NO_SYNC)
        return _rowcount(await self.session.execute(stmt))

    # -- recovery codes ----------------------------------------------------------
    def mfa_models(self) -> tuple[type[RecoveryCodeMixin], type[MfaChallengeMixin]]:
        """The MFA models; an account marked for MFA on a host without them fails closed."""
        if self.m.recovery_code is None or self.m.mfa_challenge is None:
            raise MfaStateError("MFA is not available.", code="MFA_NOT_AVAILABLE")
        return self.m.recovery_code, self.m.mfa_challenge

    @_translated
    async def replace_recovery_codes(self, user_id: uuid.UUID, hashes: Sequence[str]) -> None:
        """Delete a user's codes and store new hashes."""
        r, _ = self.mfa_models()
        await self.session.execute(
            r.__table__.delete().where(r.__table__.c.user_id == user_id)  # type: ignore[attr-defined]  # declarative class
        )
        if hashes:
            await self.session.execute(
                insert(r), [{"id": uuid7(), "user_id": user_id, "code_hash": h} for h in hashes]
            )

    @_translated
    async def use_recovery_code(self, user_id: uuid.UUID, code_hash: str, now: datetime) -> bool:
        """Consume an unused code atomically; whether this caller consumed it."""
        r, _ = self.mfa_models()
        stmt = (
            update(r)
            .where(r.user_id == user_id, r.code_hash == code_hash, r.used_at.is_(None))
            .values(used_at=now)
            .execution_options(**_NO_SYNC)
        )
        return _rowcount(await self.session.execute(stmt)) == 1

    # -- MFA challenges ------------------------------------------------------------
    @_translated
    async def add_challenge(self, user_id: uuid.UUID, expires_at: datetime) -> uuid.UUID:
        """Insert a pending second-factor challenge; returns its id."""
        challenge_id = uuid7()
        await self.session.execute(
            insert(self.mfa_models()[1]).values(
                id=challenge_id, user_id=user_id, expires_at=expires_at
            )
        )
        return challenge_id

    @_translated
    async def try_challenge(
        self, challenge_id: uuid.UUID, user_id: uuid.UUID, now: datetime, max_attempts: int
    ) -> bool:
        """Spend one try of an open challenge atomically; whether it was open.

        False when the challenge is used, expired, or out of tries (`max_attempts`
        spent). Concurrent tries queue on the row's lock, so the count is exact.
        """
        _, c = self.mfa_models()
        stmt = (
            update(c)
            .where(
                c.id == challenge_id,
                c.user_id == user_id,
                c.used_at.is_(None),
                c.expires_at > now,
                c.attempts < max_attempts,
            )
            .values(attempts=c.attempts + 1)
            .execution_options(**_NO_SYNC)
        )
        return _rowcount(await self.session.execute(stmt)) == 1

    @_translated
    async def use_challenge(
        self, challenge_id: uuid.UUID, user_id: uuid.UUID, now: datetime
    ) -> bool:
        """Spend an open challenge atomically; whether this caller spent it."""
        _, c = self.mfa_models()
        stmt = (
            update(c)
            .where(
                c.id == challenge_id,
                c.user_id == user_id,
                c.used_at.is_(None),
                c.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(**_NO_SYNC)
        )
        return _rowcount(await self.session.execute(stmt)) == 1
