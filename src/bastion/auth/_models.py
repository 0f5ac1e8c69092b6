"""Model mixins of the auth feature: the user, refresh sessions, recovery codes, MFA challenges."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy import JSON, ForeignKey, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from bastion.db import TimestampMixin, UTCDateTime, UUIDPrimaryKeyMixin

__all__ = [
    "AuthModels",
    "MfaChallengeMixin",
    "RecoveryCodeMixin",
    "RefreshSessionMixin",
    "UserMixin",
]

#: Longest e-mail address stored (RFC 5321 path limit).
EMAIL_MAX_LENGTH = 254


class UserMixin(UUIDPrimaryKeyMixin, TimestampMixin):
    """The columns every user needs; a host app adds its own beside them.

    ```python
    class User(UserMixin, Base):
        __tablename__ = "users"
        display_name: Mapped[str | None] = mapped_column(String(80))
    ```

    The e-mail is stored normalized (trimmed, lower-cased) under a unique
    constraint named `uq_<table>_email`; the TOTP secret only encrypted.
    """

    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    is_active: Mapped[bool] = mapped_column(default=True, nullable=False)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    mfa_enabled: Mapped[bool] = mapped_column(default=False, nullable=False)
    #: The TOTP secret sealed with `SecretBox` (bound to the user id); set at MFA setup.
    totp_secret_encrypted: Mapped[str | None] = mapped_column(String(255), default=None)
    #: The last TOTP time step accepted: a code for it or an earlier step is refused.
    totp_last_step: Mapped[int | None] = mapped_column(default=None)


class _UserOwned:
    """A `user_id` foreign key to the users table, deleted with the user."""

    #: The table the foreign key points at; override when the users table has another name.
    __auth_user_table__: ClassVar[str] = "users"

    @declared_attr
    def user_id(cls) -> Mapped[uuid.UUID]:  # declared_attr receives the class
        """The owning user (`ON DELETE CASCADE`)."""
        return mapped_column(
            Uuid(),
            ForeignKey(f"{cls.__auth_user_table__}.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )


class RefreshSessionMixin(UUIDPrimaryKeyMixin, _UserOwned):
    """One refresh token of a login session (a family of rotated tokens).

    Every login starts a family whose id is the id of its first row; every
    refresh spends the presented row (`spent_at`) and adds a child row. The
    family's first row is what access tokens name in `sid`: revoking a family
    sets `revoked_at` on all its rows, so a liveness check is one primary-key read.
    """

    family_id: Mapped[uuid.UUID] = mapped_column(Uuid(), nullable=False, index=True)
    #: SHA-256 of the opaque token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    absolute_expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(255), default=None)
    ip: Mapped[str | None] = mapped_column(String(45), default=None)


class RecoveryCodeMixin(UUIDPrimaryKeyMixin, _UserOwned):
    """One hashed MFA recovery code; consumed by a conditional update of `used_at`."""

    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:  # declared_attr receives the class
        """Find a user's code by its hash with one index lookup."""
        return (Index(f"ix_{cls.__tablename__}_user_code", "user_id", "code_hash"),)  # type: ignore[attr-defined]  # set by the host class


class MfaChallengeMixin(UUIDPrimaryKeyMixin, _UserOwned):
    """A pending second factor: the `mfa_token` names it, and it is spent once.

    `attempts` counts the codes tried; at `MFA_CHALLENGE_ATTEMPTS` wrong ones
    the challenge is dead (a new login makes another).
    """

    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"), nullable=False)


@dataclass(frozen=True, slots=True)
class AuthModels:
    """The host's concrete auth models, as `Auth` keeps them (`Auth.models`).

    `Auth(user=..., session=..., recovery_code=..., mfa_challenge=...)` builds
    it; the runtime and the repositories read it. A host without multi-factor
    authentication gives neither `recovery_code` nor `mfa_challenge`, and needs
    no tables for them: `Auth` then builds no MFA route.

    Attributes:
        user: The user model (`UserMixin` plus the host's columns).
        session: The refresh-session model (`RefreshSessionMixin`).
        recovery_code: The recovery-code model (`RecoveryCodeMixin`), with MFA.
        mfa_challenge: The MFA-challenge model (`MfaChallengeMixin`), with MFA.

    Raises:
        ValueError: Only one of the two MFA models is given.
    """

    user: type[UserMixin]
    session: type[RefreshSessionMixin]
    recovery_code: type[RecoveryCodeMixin] | None = None
    mfa_challenge: type[MfaChallengeMixin] | None = None

    def __post_init__(self) -> None:
        """Refuse half an MFA setup."""
        if (self.recovery_code is None) != (self.mfa_challenge is None):
            raise ValueError("give both recovery_code and mfa_challenge, or neither")

    @property
    def mfa(self) -> bool:
        """Whether the host has the MFA models (so MFA can be set up and used)."""
        return self.recovery_code is not None

    @property
    def email_constraint(self) -> str:
        """The name of the unique constraint on the user e-mail."""
        return f"uq_{self.user.__tablename__}_email"  # type: ignore[attr-defined]  # set by the host class
