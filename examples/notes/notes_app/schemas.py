"""The notes API's request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

# PostgreSQL text cannot hold the NUL character: refuse it here, as a 422 naming
# the field, rather than let the INSERT fail.
_NO_NUL = r"^[^\x00]*$"
Title = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=_NO_NUL, description="1 to 200 characters."),
]
Body = Annotated[
    str, Field(max_length=10_000, pattern=_NO_NUL, description="Up to 10,000 characters.")
]


class NoteCreate(BaseModel):
    """`POST /notes`: a new note."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    body: Body = ""


class NoteUpdate(BaseModel):
    """`PATCH /notes/{id}`: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    # `None` only marks "not sent": the schema offers no null (a sent null is a 422).
    title: Title | SkipJsonSchema[None] = None
    body: Body | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        # Omit a field to keep it; `null` is not a value a note can hold.
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} may be omitted but not null")
        return self


class NoteOut(BaseModel):
    """A note as the API returns it."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    title: str
    body: str
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Bumped by every change; the `ETag` of the note.")
