"""`prune`: deletes what nothing will read again, safe to run on several workers at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import CursorResult, Delete, delete, or_

from bastion.db import UnitOfWork, utcnow
from bastion.jobs._models import OutboxState

if TYPE_CHECKING:
    from bastion._resources import Resources

__all__ = ["prune"]


async def prune(resources: Resources, *, now: datetime | None = None) -> dict[str, int]:
    """Delete spent auth state and delivered outbox rows; returns the rows deleted per kind.

    - refresh sessions whose family passed its absolute expiry (a spent token
      of a live family stays: presenting it again is how reuse is detected);
    - MFA challenges used or expired (when the host has MFA);
    - outbox rows delivered longer ago than `JobsConfig.retention` (dead rows
      stay for inspection);
    - whatever the app's `Jobs.maintenance` tasks delete (for example expired
      idempotency records), each under its own name.

    Each is one `DELETE ... WHERE`: two workers running it at once delete each
    row once between them.
    """
    if resources.sessionmaker is None:
        return {}
    now = now or utcnow()
    counts: dict[str, int] = {}
    async with UnitOfWork(resources.sessionmaker) as uow:
        jobs = resources.jobs
        if jobs is not None:
            outbox = jobs.model
            kept_since = now - timedelta(seconds=jobs.config.retention)
            counts["outbox"] = await _count(
                uow,
                delete(outbox).where(
                    outbox.state == OutboxState.DELIVERED, outbox.finished_at < kept_since
                ),
            )
        auth = resources.auth
        if auth is not None:
            sessions, challenges = auth.models.session, auth.models.mfa_challenge
            counts["refresh_sessions"] = await _count(
                uow, delete(sessions).where(sessions.absolute_expires_at < now)
            )
            if challenges is not None:  # a host without MFA has no challenges table
                counts["mfa_challenges"] = await _count(
                    uow,
                    delete(challenges).where(
                        or_(challenges.used_at.is_not(None), challenges.expires_at < now)
                    ),
                )
    if resources.jobs is not None:
        for name, task in resources.jobs.maintenance.items():
            counts[name] = await task(resources)
    return counts


async def _count(uow: UnitOfWork, statement: Delete) -> int:
    result = await uow.session.execute(statement)
    return result.rowcount if isinstance(result, CursorResult) else 0
