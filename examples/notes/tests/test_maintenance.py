"""Scheduled maintenance on the notes app: what `prune` deletes and what it must keep."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import insert, select

from bastion.db import UnitOfWork, utcnow
from bastion.idempotency import IdempotencyRecord
from bastion.jobs import prune
from bastion.web import Resources
from notes_app.config import NotesSettings
from notes_app.main import create_notes_app
from notes_app.models import AuthSession, MfaChallenge, User


async def test_prune_deletes_dead_auth_state_and_keeps_what_reuse_detection_needs(
    notes_settings: NotesSettings,
) -> None:
    app = create_notes_app(notes_settings)
    now = utcnow()
    user_id = uuid.uuid4()
    live_family, dead_family = uuid.uuid4(), uuid.uuid4()

    def session(family: uuid.UUID, *, absolute: timedelta, spent: bool) -> dict[str, object]:
        return {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "family_id": family,
            "token_hash": uuid.uuid4().hex * 2,
            "issued_at": now - timedelta(days=1),
            "expires_at": now + absolute,
            "absolute_expires_at": now + absolute,
            "spent_at": now - timedelta(hours=1) if spent else None,
        }

    async with app.router.lifespan_context(app):
        resources: Resources = app.state.resources
        assert resources.sessionmaker is not None
        async with UnitOfWork(resources.sessionmaker) as uow:
            await uow.session.execute(
                insert(User).values(id=user_id, email="old@example.com", password_hash="x")
            )
            await uow.session.execute(
                insert(AuthSession),
                [
                    # A spent token of a live family: presenting it again must still be
                    # detected as reuse, so it stays.
                    session(live_family, absolute=timedelta(days=5), spent=True),
                    session(live_family, absolute=timedelta(days=5), spent=False),
                    session(dead_family, absolute=timedelta(seconds=-1), spent=True),
                    session(dead_family, absolute=timedelta(seconds=-1), spent=False),
                ],
            )
            await uow.session.execute(
                insert(MfaChallenge),
                [
                    {
                        "id": uuid.uuid4(),
                        "user_id": user_id,
                        "expires_at": now + timedelta(minutes=5),
                    },
                    {
                        "id": uuid.uuid4(),
                        "user_id": user_id,
                        "expires_at": now - timedelta(seconds=1),
                    },
                    {
                        "id": uuid.uuid4(),
                        "user_id": user_id,
                        "expires_at": now + timedelta(minutes=5),
                        "used_at": now,
                    },
                ],
            )
            await uow.session.execute(
                insert(IdempotencyRecord),
                [
                    {
                        "key_hash": f"{n:064x}",
                        "fingerprint": "f" * 64,
                        "status_code": 201,
                        "headers": [],
                        "body": b"{}",
                        "created_at": now - timedelta(days=2),
                        "expires_at": now + expires,
                    }
                    for n, expires in enumerate([timedelta(seconds=-1), timedelta(hours=1)])
                ],
            )
        counts = await prune(resources)
        again = await prune(resources)
        async with UnitOfWork(resources.sessionmaker) as uow:
            families = (await uow.session.scalars(select(AuthSession.family_id))).all()
            challenges = (await uow.session.scalars(select(MfaChallenge.used_at))).all()
    assert counts == {
        "outbox": 0,
        "refresh_sessions": 2,
        "mfa_challenges": 2,
        "idempotency_records": 1,
    }
    assert again == {
        "outbox": 0,
        "refresh_sessions": 0,
        "mfa_challenges": 0,
        "idempotency_records": 0,
    }
    assert families == [live_family, live_family]
    assert challenges == [None]
