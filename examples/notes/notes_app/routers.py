"""The notes service's HTTP routers, mounted under the API prefix: thin, no SQL."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from bastion import Uow, error_responses
from bastion.db import KeysetPage
from bastion.web import KeysetQuery
from notes_app.schemas import NoteCreate, NoteOut, NoteUpdate
from notes_app.services import NoteService


async def note_service(uow: Uow) -> NoteService:
    """The request's `NoteService`, over the request's unit of work."""
    return NoteService(uow)


Notes = Annotated[NoteService, Depends(note_service)]


def notes_router() -> APIRouter:
    """`/notes`: create, list, read, change and delete notes."""
    router = APIRouter(prefix="/notes", tags=["notes"])

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        summary="Create a note",
        responses=error_responses(409, 422, 503),
    )
    async def create_note(data: NoteCreate, notes: Notes) -> NoteOut:
        return await notes.create(data)

    # --8<-- [start:list]
    @router.get("", summary="List notes, newest first", responses=error_responses(422, 503))
    async def list_notes(notes: Notes, page: KeysetQuery) -> KeysetPage[NoteOut]:
        return await notes.list(page)

    # --8<-- [end:list]

    @router.get("/{note_id}", summary="Read a note", responses=error_responses(404, 422, 503))
    async def get_note(note_id: uuid.UUID, notes: Notes) -> NoteOut:
        return await notes.get(note_id)

    @router.patch(
        "/{note_id}", summary="Change a note", responses=error_responses(404, 409, 422, 503)
    )
    async def update_note(note_id: uuid.UUID, data: NoteUpdate, notes: Notes) -> NoteOut:
        return await notes.update(note_id, data)

    @router.delete(
        "/{note_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        summary="Delete a note",
        responses=error_responses(404, 409, 422, 503),
    )
    async def delete_note(note_id: uuid.UUID, notes: Notes) -> None:
        await notes.delete(note_id)

    return router


def api_routers() -> list[APIRouter]:
    """Return every router the service mounts under `/api/v1`."""
    return [notes_router()]
