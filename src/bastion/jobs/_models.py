"""`OutboxMixin`: the outbox table's columns, for the host's declarative base."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from bastion.db import UTCDateTime, UUIDPrimaryKeyMixin, utcnow

__all__ = ["OutboxMixin", "OutboxState"]


class OutboxState(StrEnum):
    """Where an outbox row stands."""

    #: Waiting for its next dispatch (at `available_at`).
    PENDING = "pending"
    #: Its handler ran and committed.
    DELIVERED = "delivered"
    #: Its handler failed on every attempt; kept for inspection.
    DEAD = "dead"


class OutboxMixin(UUIDPrimaryKeyMixin):
    """One unit of background work, written in the transaction that asked for it.

    ```python
    class OutboxMessage(OutboxMixin, Base):
        __tablename__ = "bastion_outbox"
    ```

    A row is one handler to run for one event, or one job: `kind` says which,
    `name` names the handler, `payload` holds the event or the job's arguments.
    Its id is the dedupe key a handler receives. Rows wait `pending` until
    `available_at`, are leased to a dispatch (which moves `available_at` on),
    and end `delivered` (deleted later by the maintenance task) or `dead`.
    """

    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    event_name: Mapped[str | None] = mapped_column(String(200), default=None)
    event_version: Mapped[int | None] = mapped_column(default=None)
    payload: Mapped[dict[str, object]] = mapped_column(JSON, nullable=False)
    state: Mapped[str] = mapped_column(String(16), default=OutboxState.PENDING, nullable=False)
    attempts: Mapped[int] = mapped_column(default=0, nullable=False)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:  # declared_attr receives the class
        """The relay's claim query reads pending rows by due time."""
        table = cls.__tablename__  # type: ignore[attr-defined]  # set by the host class
        return (Index(f"ix_{table}_state_available_at", "state", "available_at"),)
