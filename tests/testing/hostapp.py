"""A tiny host app tested with `bastion.testing`: accounts and per-user bookmarks."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, FastAPI, status
from pydantic import BaseModel, ConfigDict
from sqlalchemy import ForeignKey, MetaData, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bastion import Auth, CurrentUser, create_app
from bastion.auth import (
    MfaChallengeMixin,
    RecoveryCodeMixin,
    RefreshSessionMixin,
    UserMixin,
)
from bastion.core import BastionSettings
from bastion.db import NAMING_CONVENTION, UUIDPrimaryKeyMixin
from bastion.web import Uow


class HostBase(DeclarativeBase):
    """The host's own metadata: its tables are created from it, not from bastion's `Base`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(UserMixin, HostBase):
    __tablename__ = "users"


class AuthSession(RefreshSessionMixin, HostBase):
    __tablename__ = "auth_sessions"


class RecoveryCode(RecoveryCodeMixin, HostBase):
    __tablename__ = "auth_recovery_codes"


class MfaChallenge(MfaChallengeMixin, HostBase):
    __tablename__ = "auth_mfa_challenges"


class Bookmark(UUIDPrimaryKeyMixin, HostBase):
    __tablename__ = "bookmarks"

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(200))


#: The auth models, as `Auth(**MODELS)` takes them.
MODELS = {
    "user": User,
    "session": AuthSession,
    "recovery_code": RecoveryCode,
    "mfa_challenge": MfaChallenge,
}


class BookmarkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str


class BookmarkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str


def bookmarks_router() -> APIRouter:
    router = APIRouter(prefix="/bookmarks", tags=["bookmarks"])

    @router.post("", status_code=status.HTTP_201_CREATED)
    async def create(data: BookmarkIn, user: CurrentUser, uow: Uow) -> BookmarkOut:
        bookmark = Bookmark(owner_id=user.id, url=data.url)
        uow.session.add(bookmark)
        await uow.flush()
        return BookmarkOut.model_validate(bookmark)

    @router.get("")
    async def mine(user: CurrentUser, uow: Uow) -> list[BookmarkOut]:
        rows = await uow.session.scalars(
            select(Bookmark).where(Bookmark.owner_id == user.id).order_by(Bookmark.id)
        )
        return [BookmarkOut.model_validate(row) for row in rows]

    @router.get("/count")
    async def count(uow: Uow) -> dict[str, int]:
        total = await uow.session.scalar(select(func.count()).select_from(Bookmark))
        return {"count": int(total or 0)}

    return router


def create_host_app(settings: BastionSettings) -> FastAPI:
    """The host's app factory, as `bastion_app_factory` returns it."""
    return create_app(settings, routers=[Auth(**MODELS).router, bookmarks_router()])
