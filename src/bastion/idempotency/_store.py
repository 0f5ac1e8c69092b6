"""SQL for idempotency records: find one, save one, forget expired ones. No HTTP here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bastion.db import translate_errors, utcnow
from bastion.idempotency._models import IdempotencyRecord

__all__ = ["IdempotencyStore", "StoredResponse", "prune_idempotency_records"]


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response as an idempotency record keeps it.

    Attributes:
        status_code: The HTTP status.
        headers: The replayed headers, `(name, value)` pairs.
        body: The body bytes.
        fingerprint: SHA-256 of the request that produced it.
        expires_at: When the record stops replaying.
    """

    status_code: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fingerprint: str
    expires_at: datetime


class IdempotencyStore:
    """Idempotency records on a session: the request's own, so they commit with its writes."""

    def __init__(self, session: AsyncSession) -> None:
        """Bind the store to a session (normally the request's `uow.session`)."""
        self.session = session

    async def find(self, key_hash: str) -> StoredResponse | None:
        """The record under `key_hash`, expired or not (one primary-key read)."""
        record = IdempotencyRecord
        stmt = select(
            record.status_code,
            record.headers,
            record.body,
            record.fingerprint,
            record.expires_at,
        ).where(record.key_hash == key_hash)
        with translate_errors():
            row = (await self.session.execute(stmt)).one_or_none()
        if row is None:
            return None
        status_code, headers, body, fingerprint, expires_at = row
        return StoredResponse(
            status_code=status_code,
            headers=tuple((str(name), str(value)) for name, value in headers),
            body=bytes(body),
            fingerprint=fingerprint,
            expires_at=expires_at,
        )

    async def save(self, key_hash: str, response: StoredResponse, *, now: datetime) -> bool:
        """Insert the record; False when another transaction committed one first.

        After False the transaction is no longer usable (PostgreSQL aborts it):
        roll it back before anything else.
        """
        stmt = insert(IdempotencyRecord).values(
            key_hash=key_hash,
            fingerprint=response.fingerprint,
            status_code=response.status_code,
            headers=[[name, value] for name, value in response.headers],
            body=response.body,
            created_at=now,
            expires_at=response.expires_at,
        )
        with translate_errors():
            try:
                await self.session.execute(stmt)
            except IntegrityError:
                return False
        return True

    async def forget(self, key_hash: str) -> None:
        """Delete the record under `key_hash` (an expired one, before the key is used again)."""
        with translate_errors():
            await self.session.execute(
                delete(IdempotencyRecord).where(IdempotencyRecord.key_hash == key_hash)
            )


async def prune_idempotency_records(engine: AsyncEngine, *, now: datetime | None = None) -> int:
    """Delete every expired idempotency record, in one transaction of its own.

    Run it from a periodic job: an expired record is never replayed, but it
    stays in the table until pruned.

    Args:
        engine: The app's engine (`resources.engine`).
        now: The time to compare expiry with (default: the current UTC time).

    Returns:
        How many records were deleted.

    Raises:
        DatabaseUnavailableError: The database cannot be reached.
    """
    moment = now if now is not None else utcnow()
    with translate_errors():
        async with engine.begin() as connection:
            result = await connection.execute(
                delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= moment)
            )
    return int(result.rowcount)
