"""The notes routes written by hand: FastAPI, SQLAlchemy async and PyJWT, no bastion.

`bench/http.py` serves this next to the example app and loads both the same way. It
does the work a careful hand-written service does for the same routes, on the same
tables and rows: a Bearer JWT (HS256, `iss`, `aud`, `exp` checked) naming a user and a
login session, whose row is read on the request's own connection (the session is live
and the user active); a signed keyset page of 20 notes, newest first; a validated insert
of the note and of its `note.created` row in an outbox table shaped as the example's (as
the example records the event), committed together before the answer. No edge
middleware, rate limit, access line or event delivery.

Configured from HAND_DATABASE_URL, HAND_SCHEMA (PostgreSQL) and HAND_SECRET.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

ISSUER = AUDIENCE = "hand"
PAGE = 20

metadata = MetaData()
users = Table(
    "users",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("is_active", Boolean()),
    Column("roles", JSON()),
)
sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("user_id", Uuid()),
    Column("absolute_expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)
#: The hand-written service's outbox, shaped as the example's: a table of its own, so that
#: the example's relay (which runs in its server without Redis) never takes these rows.
#: `bench/http.py` creates it next to the example's tables.
outbox = Table(
    "hand_outbox",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("name", String(200), nullable=False),
    Column("event_name", String(200)),
    Column("event_version", Integer()),
    Column("payload", JSON(), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("available_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("last_error", Text()),
    Index("ix_hand_outbox_state_available_at", "state", "available_at"),
)
notes = Table(
    "notes",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("owner_id", Uuid()),
    Column("title", String(200)),
    Column("body", Text()),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
    Column("version", Integer()),
)


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")
    body: str = Field(default="", max_length=10_000, pattern=r"^[^\x00]*$")


class NoteOut(BaseModel):
    id: uuid.UUID
    title: str
    body: str
    created_at: datetime
    updated_at: datetime
    version: int


class NotePage(BaseModel):
    items: list[NoteOut]
    next_cursor: str | None = None


def _uuid7() -> uuid.UUID:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10))
    return uuid.UUID(
        int=(ms << 80)
        | (0x7 << 76)
        | (((rand >> 62) & 0xFFF) << 64)
        | (0b10 << 62)
        | (rand & ((1 << 62) - 1))
    )


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    url = os.environ["HAND_DATABASE_URL"]
    options: dict[str, Any] = {}
    if url.startswith("postgresql") and os.environ.get("HAND_SCHEMA"):
        path = f"{os.environ['HAND_SCHEMA']},public"
        options["connect_args"] = {"server_settings": {"search_path": path}}
    engine = create_async_engine(url, pool_size=15, max_overflow=0, **options)
    app.state.sessions = async_sessionmaker(engine, expire_on_commit=False)
    app.state.sqlite = url.startswith("sqlite")
    app.state.key = os.environ["HAND_SECRET"].encode()
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


Db = Annotated[AsyncSession, Depends(db_session)]


async def current_user(request: Request, session: Db) -> uuid.UUID:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "Not authenticated")
    try:
        claims = jwt.decode(
            token,
            request.app.state.key,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "sid"]},
        )
        user_id, session_id = uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"])
    except (jwt.PyJWTError, ValueError) as exc:
        raise HTTPException(401, "Invalid token") from exc
    live = await session.execute(
        select(users.c.roles)
        .join(sessions, sessions.c.user_id == users.c.id)
        .where(
            sessions.c.id == session_id,
            users.c.id == user_id,
            sessions.c.revoked_at.is_(None),
            sessions.c.absolute_expires_at > _now(request),
            users.c.is_active.is_(True),
        )
    )
    if live.first() is None:
        raise HTTPException(401, "Session ended")
    return user_id


User = Annotated[uuid.UUID, Depends(current_user)]


def _now(request: Request) -> datetime:
    now = datetime.now(UTC)
    # SQLite has no time zones: the example stores naive UTC there.
    return now.replace(tzinfo=None) if request.app.state.sqlite else now


def _sign(key: bytes, payload: bytes) -> str:
    mac = hmac.new(key, payload, hashlib.sha256).digest()[:16]
    return ".".join(base64.urlsafe_b64encode(p).rstrip(b"=").decode() for p in (payload, mac))


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/v1/notes")
async def list_notes(
    request: Request, session: Db, user: User, limit: Annotated[int, Query(ge=1, le=100)] = PAGE
) -> NotePage:
    rows = (
        await session.execute(
            select(
                notes.c.id,
                notes.c.title,
                notes.c.body,
                notes.c.created_at,
                notes.c.updated_at,
                notes.c.version,
            )
            .where(notes.c.owner_id == user)
            .order_by(notes.c.created_at.desc(), notes.c.id.desc())
            .limit(limit + 1)
        )
    ).all()
    items = [
        NoteOut(
            id=r.id,
            title=r.title,
            body=r.body,
            created_at=_utc(r.created_at),
            updated_at=_utc(r.updated_at),
            version=r.version,
        )
        for r in rows[:limit]
    ]
    cursor = None
    if len(rows) > limit:
        last = items[-1]
        payload = json.dumps([last.created_at.isoformat(), str(last.id)]).encode()
        cursor = _sign(request.app.state.key, payload)
    return NotePage(items=items, next_cursor=cursor)


@app.post("/api/v1/notes", status_code=201)
async def create_note(request: Request, data: NoteCreate, session: Db, user: User) -> NoteOut:
    now = _now(request)
    note_id = _uuid7()
    await session.execute(
        notes.insert().values(
            id=note_id,
            owner_id=user,
            title=data.title,
            body=data.body,
            created_at=now,
            updated_at=now,
            version=1,
        )
    )
    # The `note.created` event, in the note's transaction: the row a relay delivers.
    await session.execute(
        outbox.insert().values(
            id=_uuid7(),
            kind="event",
            name="notes.log_created",
            event_name="note.created",
            event_version=1,
            payload={"note_id": str(note_id), "owner_id": str(user)},
            state="pending",
            attempts=0,
            available_at=now,
            created_at=now,
        )
    )
    await session.commit()
    return NoteOut(
        id=note_id,
        title=data.title,
        body=data.body,
        created_at=_utc(now),
        updated_at=_utc(now),
        version=1,
    )
