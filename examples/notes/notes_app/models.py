"""The notes service's ORM models."""

from __future__ import annotations

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db import Base, TimestampMixin, UUIDPrimaryKeyMixin


class Note(UUIDPrimaryKeyMixin, TimestampMixin, Base):
    """A note: a title and a body (owner-scoped once auth lands)."""

    __tablename__ = "notes"
    # Serves the newest-first keyset walk: (created_at, id) is the list's sort key.
    __table_args__ = (Index("ix_notes_created_at_id", "created_at", "id"),)

    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
