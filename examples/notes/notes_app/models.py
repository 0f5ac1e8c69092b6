"""The notes service's ORM models: its users (bastion's auth mixins) and their notes."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from bastion.auth import (
    MfaChallengeMixin,
    RecoveryCodeMixin,
    RefreshSessionMixin,
    UserMixin,
)
from bastion.db import Base, EntityMixin
from bastion.idempotency import IdempotencyRecord  # noqa: F401  # its table, for the migrations
from bastion.jobs import OutboxMixin


class User(UserMixin, Base):
    """An account: e-mail, argon2id password hash, roles, MFA state."""

    __tablename__ = "users"


class AuthSession(RefreshSessionMixin, Base):
    """One refresh token of a login session (a rotating family)."""

    __tablename__ = "auth_sessions"


class RecoveryCode(RecoveryCodeMixin, Base):
    """One hashed, single-use MFA recovery code."""

    __tablename__ = "auth_recovery_codes"


class MfaChallenge(MfaChallengeMixin, Base):
    """A pending second factor, named by a login's `mfa_token`."""

    __tablename__ = "auth_mfa_challenges"


class Note(EntityMixin, Base):
    """A note: a title and a body, owned by one user; `version` counts its changes."""

    __tablename__ = "notes"
    # Serves the owner's newest-first keyset walk: (owner, created_at, id) is its sort key.
    __table_args__ = (Index("ix_notes_owner_id_created_at_id", "owner_id", "created_at", "id"),)

    owner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")


class OutboxMessage(OutboxMixin, Base):
    """Events and jobs waiting for, or done with, their handlers (`notes_app.events`)."""

    __tablename__ = "bastion_outbox"
