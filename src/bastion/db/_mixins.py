"""Column mixins: UUIDv7 key, timestamps, version (the three: `EntityMixin`), soft delete."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Uuid
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from bastion.db._base import UTCDateTime, utcnow
from bastion.db._ids import uuid7

__all__ = [
    "EntityMixin",
    "SoftDeleteMixin",
    "TimestampMixin",
    "UUIDPrimaryKeyMixin",
    "VersionMixin",
]


class UUIDPrimaryKeyMixin:
    """An `id` primary key: a UUIDv7 generated in Python, so inserts batch."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid7, sort_order=-100)


def _created_at(context: DefaultExecutionContext) -> datetime:
    """`updated_at`'s insert default: the row's own `created_at`, so both start equal."""
    created = context.get_current_parameters().get("created_at")  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it unannotated
    return created if isinstance(created, datetime) else utcnow()


class TimestampMixin:
    """`created_at` and `updated_at`, timezone-aware UTC, set by Python on write."""

    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, nullable=False, sort_order=100
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=_created_at, onupdate=utcnow, nullable=False, sort_order=100
    )


class VersionMixin:
    """An optimistic-concurrency `version`, bumped on every update.

    Repositories check it when told the expected version; the ORM checks it on
    every flush of a loaded entity. A stale write raises `StaleVersionError` (409).
    """

    version: Mapped[int] = mapped_column(default=1, nullable=False, sort_order=100)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, object]:  # declared_attr receives the class
        """Tell the ORM to check and bump `version` on flush."""
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]  # set by the mapping


class EntityMixin(UUIDPrimaryKeyMixin, TimestampMixin, VersionMixin):
    """The columns of an app's own entity: a UUIDv7 `id`, `created_at`, `updated_at`, `version`.

    ```python
    class Todo(EntityMixin, Base):
        __tablename__ = "todos"
        title: Mapped[str]
    ```

    Its `version` gives reads an `ETag` and writes `If-Match` (`bastion.web.IfMatch`).
    A table that needs only some of these takes the single mixins instead.
    """


class SoftDeleteMixin:
    """A nullable `deleted_at`: repositories hide such rows and `delete` sets it."""

    deleted_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), default=None, index=True, sort_order=100
    )
