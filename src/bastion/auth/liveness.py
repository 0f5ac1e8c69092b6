"""The per-request session check: is this user active and this login session live?"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.auth.models import AuthModels
from bastion.db.errors import translate_errors

__all__ = ["live_session_roles"]


async def live_session_roles(
    connection: AsyncConnection,
    models: AuthModels,
    user_id: uuid.UUID,
    family_id: uuid.UUID,
    now: datetime,
) -> list[str] | None:
    """The roles of an active user whose session is live, or `None` (one indexed read).

    Runs on a bare connection, not an ORM session: it is on the path of every
    authenticated request, so it does the least work that answers the question.
    """
    user, root = models.user, models.session
    stmt = (
        select(user.roles)
        .join(root, root.user_id == user.id)
        .where(
            root.id == family_id,
            user.id == user_id,
            root.revoked_at.is_(None),
            root.absolute_expires_at > now,
            user.is_active.is_(True),
        )
    )
    with translate_errors():
        roles = (await connection.execute(stmt)).scalar_one_or_none()
    return None if roles is None else list(roles)
