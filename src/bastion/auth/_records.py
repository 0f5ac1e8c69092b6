"""The rows the auth repositories return, and the two helpers they share."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ParamSpec, TypeVar

from sqlalchemy import CursorResult

from bastion.db import translate_errors

__all__ = ["SessionRecord", "UserRecord", "rowcount", "translated"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def translated(method: Callable[_P, Awaitable[_R]]) -> Callable[_P, Awaitable[_R]]:
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


def rowcount(result: object) -> int:
    """The rows a statement's result says it changed (0 when it cannot say)."""
    return result.rowcount if isinstance(result, CursorResult) else 0
