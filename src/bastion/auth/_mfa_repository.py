"""Data access of MFA: TOTP steps, recovery codes and login challenges.

Each write that spends a one-time thing (a TOTP step, a recovery code, a
challenge or one of its tries) or changes the MFA state is ONE conditional
`UPDATE` whose row count says whether this caller won, as in `AuthRepository`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import insert, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.auth._errors import MfaStateError
from bastion.auth._models import AuthModels, MfaChallengeMixin, RecoveryCodeMixin
from bastion.auth._records import rowcount, translated
from bastion.db import uuid7

if TYPE_CHECKING:
    from bastion.db import UnitOfWork

__all__ = ["MfaRepository"]

_NO_SYNC = {"synchronize_session": False}


class MfaRepository:
    """SQL of the second factor over the host's models, in a unit of work's session."""

    def __init__(self, uow: UnitOfWork, models: AuthModels) -> None:
        """Bind the repository to a unit of work and the host's models."""
        self.uow = uow
        self.m = models

    @property
    def session(self) -> AsyncSession:
        """The unit of work's session (opened on first use)."""
        return self.uow.session

    @translated
    async def claim_totp_step(self, user_id: uuid.UUID, step: int, secret: str) -> bool:
        """Record `step` as the last TOTP step used, unless it (or a later one) already was.

        `secret` is the sealed secret the code was checked against: a setup or a
        disable that replaced it meanwhile makes the claim fail.
        """
        user = self.m.user
        stmt = (
            update(user)
            .where(
                user.id == user_id,
                user.totp_secret_encrypted == secret,
                or_(user.totp_last_step.is_(None), user.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(**_NO_SYNC)
        )
        return rowcount(await self.session.execute(stmt)) == 1

    @translated
    async def change_mfa(
        self,
        user_id: uuid.UUID,
        now: datetime,
        *,
        was_enabled: bool,
        had_secret: str | None = None,
        **values: object,
    ) -> bool:
        """Set a user's MFA columns, unless its MFA state changed since it was read.

        Args:
            user_id: The user.
            now: The `updated_at` to write.
            was_enabled: Whether MFA was on when read; a request that turned it on
                or off meanwhile makes this write nothing.
            had_secret: The sealed secret read, when it must still be the stored one.
            **values: The columns to set.

        Returns:
            Whether this caller changed the row (False: another request won).
        """
        user = self.m.user
        conditions = [user.id == user_id, user.mfa_enabled == was_enabled]
        if had_secret is not None:
            conditions.append(user.totp_secret_encrypted == had_secret)
        stmt = (
            update(user)
            .where(*conditions)
            .values(updated_at=now, **values)
            .execution_options(**_NO_SYNC)
        )
        return rowcount(await self.session.execute(stmt)) == 1

    # -- recovery codes ----------------------------------------------------------
    def mfa_models(self) -> tuple[type[RecoveryCodeMixin], type[MfaChallengeMixin]]:
        """The MFA models; an account marked for MFA on a host without them fails closed."""
        if self.m.recovery_code is None or self.m.mfa_challenge is None:
            raise MfaStateError("MFA is not available.", code="MFA_NOT_AVAILABLE")
        return self.m.recovery_code, self.m.mfa_challenge

    @translated
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

    @translated
    async def use_recovery_code(self, user_id: uuid.UUID, code_hash: str, now: datetime) -> bool:
        """Consume an unused code atomically; whether this caller consumed it."""
        r, _ = self.mfa_models()
        stmt = (
            update(r)
            .where(r.user_id == user_id, r.code_hash == code_hash, r.used_at.is_(None))
            .values(used_at=now)
            .execution_options(**_NO_SYNC)
        )
        return rowcount(await self.session.execute(stmt)) == 1

    # -- MFA challenges ------------------------------------------------------------
    @translated
    async def add_challenge(self, user_id: uuid.UUID, expires_at: datetime) -> uuid.UUID:
        """Insert a pending second-factor challenge; returns its id."""
        challenge_id = uuid7()
        await self.session.execute(
            insert(self.mfa_models()[1]).values(
                id=challenge_id, user_id=user_id, expires_at=expires_at
            )
        )
        return challenge_id

    @translated
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
        return rowcount(await self.session.execute(stmt)) == 1

    @translated
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
        return rowcount(await self.session.execute(stmt)) == 1
