"""The per-request session check: is this user active and this login session live?"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.auth.models import AuthModels
from bastion.db import translate_errors

__all__ = ["live_session_roles"]


@lru_cache(maxsize=16)
def _live_session_query(models: AuthModels) -> Select[list[str]]:
    """The check's statement, built once per set of models.

    It runs on every authenticated request: building a statement and its
    cache key each time would cost more than running it. Bound parameters
    carry the request's values, so the one statement serves every request.
    """
    user, root = models.user, models.session
    return (
        select(user.roles)
        .join(root, root.user_id == user.id)
        .where(
            root.id == bindparam("family_id"),
            user.id == bindparam("user_id"),
            root.revoked_at.is_(None),
            root.absolute_expires_at > bindparam("now"),
            user.is_active.is_(True),
        )
    )


async def live_session_roles(
    connection: AsyncConnection,
    models: AuthModels,
    user_id: uuid.UUID,
    family_id: uuid.UUID,
    now: datetime,
) -> list[str] | None:
    """The roles of an active user whose session is live, or `None` (one indexed read).

    Runs on the connection (not through the ORM session): it is on the path of
    every authenticated request, so it does the least work that answers the question.
    """
    params = {"family_id": family_id, "user_id": user_id, "now": now}
    with translate_errors():
        result = await connection.execute(_live_session_query(models), params)
        roles = result.scalar_one_or_none()
    return None if roles is None else list(roles)
