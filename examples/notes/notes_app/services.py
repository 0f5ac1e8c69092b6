"""The notes service's business rules; no HTTP, no SQL."""

from __future__ import annotations

import uuid
from typing import Protocol

from bastion.db import ExpectedVersion, KeysetPage, ListParams, UnitOfWork
from notes_app.events import NoteCreated
from notes_app.repositories import NoteRepository
from notes_app.schemas import NoteCreate, NoteOut, NoteUpdate


class Owner(Protocol):
    """Who the caller is: anything with the user's `id` (the auth feature's `Principal`)."""

    @property
    def id(self) -> uuid.UUID:
        """The user id."""
        ...


class NoteService:
    """Create, read, change and delete the caller's notes.

    Its repository is scoped to the caller (`owner_id`), the one place that
    decides which notes the caller may touch: their own. Another user's note
    is indistinguishable from a missing one (404 `NOT_FOUND`).
    """

    def __init__(self, uow: UnitOfWork, owner: Owner) -> None:
        """Bind the service to the request's unit of work and the calling user."""
        self.uow = uow
        self.owner_id = owner.id
        self.notes = NoteRepository(uow.session, owner_id=owner.id)

    async def create(self, data: NoteCreate) -> NoteOut:
        """Create a note owned by the caller; `note.created` is emitted if the request commits."""
        note = await self.notes.add(data)
        self.uow.record(NoteCreated(note_id=note.id, owner_id=self.owner_id))
        return note

    async def get(self, note_id: uuid.UUID) -> NoteOut:
        """Read one of the caller's notes (404 for anyone else's)."""
        return await self.notes.get(note_id)

    async def list(self, query: ListParams) -> KeysetPage[NoteOut]:
        """One page of the caller's notes, filtered and sorted as asked (newest first)."""
        sort = query.sort or "-created_at"
        return await self.notes.page(query.page, *query.filters, sort=sort)

    async def update(
        self, note_id: uuid.UUID, data: NoteUpdate, expected_version: ExpectedVersion = None
    ) -> NoteOut:
        """Change the fields sent of one of the caller's notes (if still at a version expected)."""
        return await self.notes.update(note_id, data, expected_version=expected_version)

    async def delete(self, note_id: uuid.UUID, expected_version: ExpectedVersion = None) -> None:
        """Delete one of the caller's notes (if still at a version expected)."""
        await self.notes.delete(note_id, expected_version=expected_version)
