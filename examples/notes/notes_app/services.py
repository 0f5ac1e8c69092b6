"""The notes service's business rules; no HTTP, no SQL."""

from __future__ import annotations

import uuid

from bastion.db import Filter, KeysetPage, KeysetParams, Service, UnitOfWork
from notes_app.repositories import NoteRepository
from notes_app.schemas import NoteCreate, NoteOut, NoteUpdate


class NoteService(Service):
    """Create, read, change and delete notes.

    Every read and write goes through `_scope()`, the one place that decides
    which notes the caller may touch: today all of them; with auth, the
    caller's own (`Eq("owner_id", user.id)`), and `create` sets the owner.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        super().__init__(uow)
        self.notes = NoteRepository(uow.session)

    def _scope(self) -> list[Filter]:
        return []

    async def create(self, data: NoteCreate) -> NoteOut:
        return await self.notes.add(data)

    async def get(self, note_id: uuid.UUID) -> NoteOut:
        return await self.notes.get(note_id, *self._scope())

    async def list(self, page: KeysetParams) -> KeysetPage[NoteOut]:
        return await self.notes.page(page, *self._scope(), sort="-created_at")

    async def update(self, note_id: uuid.UUID, data: NoteUpdate) -> NoteOut:
        return await self.notes.update(note_id, data, *self._scope())

    async def delete(self, note_id: uuid.UUID) -> None:
        await self.notes.delete(note_id, *self._scope())
