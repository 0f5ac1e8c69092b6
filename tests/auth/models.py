"""Concrete auth models for the tests, on their own metadata."""

from __future__ import annotations

from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bastion.auth import (
    MfaChallengeMixin,
    RecoveryCodeMixin,
    RefreshSessionMixin,
    UserMixin,
)
from bastion.db import NAMING_CONVENTION


class AuthTestBase(DeclarativeBase):
    """A separate metadata, so these tables never meet the other tests' tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(UserMixin, AuthTestBase):
    """A host user with one extra column."""

    __tablename__ = "users"
    display_name: Mapped[str | None] = mapped_column(String(80), default=None)


class Session(RefreshSessionMixin, AuthTestBase):
    """Refresh sessions."""

    __tablename__ = "auth_sessions"


class RecoveryCode(RecoveryCodeMixin, AuthTestBase):
    """Recovery codes."""

    __tablename__ = "auth_recovery_codes"


class MfaChallenge(MfaChallengeMixin, AuthTestBase):
    """MFA challenges."""

    __tablename__ = "auth_mfa_challenges"


#: The auth models, as `Auth(**MODELS)` takes them.
MODELS = {
    "user": User,
    "session": Session,
    "recovery_code": RecoveryCode,
    "mfa_challenge": MfaChallenge,
}
