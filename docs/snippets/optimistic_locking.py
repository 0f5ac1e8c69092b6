"""Optimistic locking with `VersionMixin`: the client sends back the version it read."""

from __future__ import annotations

import uuid
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import DeclarativeBase

from bastion.db import BaseRepository

OutT = TypeVar("OutT", bound=BaseModel)
ModelT = TypeVar("ModelT", bound=DeclarativeBase)


class DocUpdate(BaseModel):
    """A PATCH body: the changes, and the version they were made against."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=100)
    version: int = Field(ge=1, description="The `version` the client read.")


async def update_doc(
    repo: BaseRepository[ModelT, OutT], doc_id: uuid.UUID, data: DocUpdate
) -> OutT:
    """Apply the client's changes only if nobody changed the row since it read `version`."""
    # `version` is no column to write (the repository refuses that): it is the
    # condition of the UPDATE, which also moves the version on by one.
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    return await repo.update(doc_id, changes, expected_version=data.version)
