"""The per-request session check: is this user active and this login session live?"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.auth.models import AuthModels
from bastion.db._point_read import PointRead

__all__ = ["live_session_roles"]


@lru_cache(maxsize=16)
def _live_session_query(models: AuthModels) -> PointRead[list[str]]:
    """The check's statement, built once per set of models.

    It runs on every authenticated request: building and compiling a statement
    each time would cost more than running it. Bound parameters carry the
    request's values, so the one statement serves every request.
    """
    user, root = models.user, models.session
    statement = (
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
    return PointRead(statement)


async def live_session_roles(
    connection: AsyncConnection,
    models: AuthModels,
    user_id: uuid.UUID,
    family_id: uuid.UUID,
    now: datetime,
) -> list[str] | None:
    """The roles of an active user whose session is live, or `None` (one indexed read).

    Runs on the connection, straight to its driver (`PointRead`): it is on the
    path of every authenticated request, so it does the least work that answers
    the question.

    Raises:
        DatabaseUnavailableError: The database cannot answer (503).
    """
    params = {"family_id": family_id, "user_id": user_id, "now": now}
    roles = await _live_session_query(models).scalar(connection, params)
    return None if roles is None else list(roles)
