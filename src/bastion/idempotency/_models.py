"""`IdempotencyRecord`: the first response to a keyed request, kept until it expires."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db import Base, UTCDateTime

__all__ = ["IdempotencyRecord"]


class IdempotencyRecord(Base):
    """One keyed request's first response, written in the transaction of its writes.

    The table (`idempotency_records`) is registered on `bastion.db.Base.metadata`
    when `bastion.idempotency` is imported; a host creates it with its other
    tables (an Alembic migration, or `create_all`). Neither the key nor the
    principal is stored in clear: `key_hash` hashes them with the method and
    the route template, and is the primary key, so finding a record is one
    primary-key read and two requests racing with one key cannot both commit.
    """

    __tablename__ = "idempotency_records"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: SHA-256 of the first request's path, query and body.
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int] = mapped_column(nullable=False)
    #: The replayed headers of the first response, as `[name, value]` pairs.
    headers: Mapped[list[list[str]]] = mapped_column(JSON, nullable=False)
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
