"""Models, DTOs and repositories the persistence tests run against."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    MetaData,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bastion.db import (
    NAMING_CONVENTION,
    Base,
    BaseRepository,
    SoftDeleteMixin,
    TimestampMixin,
    UUIDPrimaryKeyMixin,
    VersionMixin,
    relationship,
)


class TestBase(DeclarativeBase):
    """A host-style base of its own, configured like bastion's."""

    __test__ = False
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = Base.type_annotation_map


class Widget(UUIDPrimaryKeyMixin, TimestampMixin, TestBase):
    __tablename__ = "widgets"
    __table_args__ = (CheckConstraint("price >= 0", name="price_not_negative"),)

    name: Mapped[str] = mapped_column(String(100), unique=True)
    price: Mapped[int] = mapped_column(default=0)
    category: Mapped[str | None] = mapped_column(String(50), default=None)
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    weight: Mapped[Decimal | None] = mapped_column(Numeric, default=None)
    parts: Mapped[list[Part]] = relationship(back_populates="widget")


class Part(UUIDPrimaryKeyMixin, TimestampMixin, TestBase):
    __tablename__ = "parts"
    __table_args__ = (UniqueConstraint("widget_id", "label"),)

    widget_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("widgets.id", ondelete="RESTRICT"))
    label: Mapped[str] = mapped_column(String(50))
    # A value only the database knows, so inserts read the row back.
    weight: Mapped[int] = mapped_column(server_default=text("1"))
    widget: Mapped[Widget] = relationship(back_populates="parts")


class Tag(UUIDPrimaryKeyMixin, TestBase):
    """Its foreign key is checked at COMMIT, so a bad one makes the commit itself fail."""

    __tablename__ = "tags"

    widget_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("widgets.id", deferrable=True, initially="DEFERRED")
    )
    label: Mapped[str] = mapped_column(String(50))


class TagOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    widget_id: uuid.UUID
    label: str


class TagRepository(BaseRepository[Tag, TagOut]):
    model = Tag
    out = TagOut
    default_sort = "label"
    sortable = frozenset({"label"})


class Doc(UUIDPrimaryKeyMixin, TimestampMixin, VersionMixin, SoftDeleteMixin, TestBase):
    __tablename__ = "docs"

    title: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(100), unique=True)


class WidgetOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str
    price: int
    category: str | None
    created_at: datetime
    updated_at: datetime


class WidgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    price: int = 0
    category: str | None = None
    due_at: AwareDatetime | None = None
    weight: Decimal | None = None


class WidgetPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    price: int | None = None
    category: str | None = None


class PartOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    widget_id: uuid.UUID
    label: str
    weight: int


class PartLabel(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    label: str


class WidgetWithParts(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: uuid.UUID
    name: str
    parts: list[PartLabel]


class DocOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    title: str
    slug: str
    version: int
    created_at: datetime


class WidgetRepository(BaseRepository[Widget, WidgetOut]):
    model = Widget
    out = WidgetOut
    sortable = frozenset({"created_at", "name", "price"})
    conflict_codes = {"uq_widgets_name": "WIDGET_NAME_TAKEN"}  # noqa: RUF012


class PartRepository(BaseRepository[Part, PartOut]):
    model = Part
    out = PartOut
    default_sort = "label"
    sortable = frozenset({"label"})


class DocRepository(BaseRepository[Doc, DocOut]):
    model = Doc
    out = DocOut
    sortable = frozenset({"created_at", "title"})
