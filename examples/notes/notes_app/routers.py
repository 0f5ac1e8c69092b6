"""The notes service's HTTP routers, mounted under the API prefix: thin, no SQL."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from bastion import CurrentUser, IfMatch, KeysetPage, ListParams, list_query, provide_service
from bastion.auth import AccountServiceDep, UserOut, require_roles
from bastion.idempotency import IdempotentRoute
from bastion.web import error_responses, etag
from notes_app.auth import notes_auth
from notes_app.config import NotesSettings
from notes_app.schemas import NoteCreate, NoteOut, NoteUpdate
from notes_app.services import NoteService

# --8<-- [start:providers]
#: The request's `NoteService`, over the request's unit of work, for the caller.
Notes = Annotated[NoteService, Depends(provide_service(NoteService, CurrentUser))]
#: `GET /notes` query: `title` / `title[search]`, `created_at[lt|gt]`, `sort`, `limit`, `cursor`.
NoteList = Annotated[
    ListParams,
    Depends(
        list_query(
            NoteOut,
            filters={"title": ["eq", "search"], "created_at": ["lt", "gt"]},
            sort=["created_at", "updated_at", "title"],
        )
    ),
]
# --8<-- [end:providers]


def notes_router() -> APIRouter:
    """`/notes`: create, list, read, change and delete notes."""
    router = APIRouter(prefix="/notes", tags=["notes"])

    # --8<-- [start:idempotent]
    async def create_note(
        data: NoteCreate, notes: Notes, request: Request, response: Response
    ) -> NoteOut:
        note = await notes.create(data)
        # Where the new note lives, and its version: a client can read or change it at once.
        response.headers["Location"] = f"{request.url.path}/{note.id}"
        response.headers["ETag"] = etag(note.version)
        return note

    # A retried create with the same Idempotency-Key replays the first answer.
    router.add_api_route(
        "",
        create_note,
        methods=["POST"],
        route_class_override=IdempotentRoute,
        status_code=status.HTTP_201_CREATED,
        summary="Create a note",
        responses=error_responses(400, 401, 403, 409, 422, 503),
    )
    # --8<-- [end:idempotent]

    # --8<-- [start:list]
    @router.get("", summary="List notes, newest first", responses=error_responses(401, 422, 503))
    async def list_notes(notes: Notes, query: NoteList) -> KeysetPage[NoteOut]:
        return await notes.list(query)

    # --8<-- [end:list]

    # --8<-- [start:etag]
    @router.get(
        "/{note_id}", summary="Read a note", responses=error_responses(401, 404, 412, 422, 503)
    )
    async def get_note(note_id: uuid.UUID, notes: Notes, match: IfMatch) -> NoteOut:
        return match.tag(await notes.get(note_id))

    @router.patch(
        "/{note_id}",
        summary="Change a note (send `If-Match` to change only the version read)",
        responses=error_responses(401, 403, 404, 409, 412, 422, 503),
    )
    async def update_note(
        note_id: uuid.UUID, data: NoteUpdate, notes: Notes, match: IfMatch
    ) -> NoteOut:
        return match.tag(await notes.update(note_id, data, match.expected_version))

    # --8<-- [end:etag]

    @router.delete(
        "/{note_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        summary="Delete a note (send `If-Match` to delete only the version read)",
        responses=error_responses(401, 403, 404, 409, 412, 422, 503),
    )
    async def delete_note(note_id: uuid.UUID, notes: Notes, match: IfMatch) -> None:
        await notes.delete(note_id, match.expected_version)

    return router


def admin_router() -> APIRouter:
    """`/admin`: routes for the `admin` role only (403 `FORBIDDEN` to anyone else)."""
    router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[require_roles("admin")])

    @router.get(
        "/users",
        summary="List users (admins only)",
        responses=error_responses(401, 403, 422, 503),
    )
    async def list_users(
        principal: CurrentUser,
        accounts: AccountServiceDep,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> list[UserOut]:
        return await accounts.list_users(principal, limit=limit, offset=offset)

    return router


def api_routers(settings: NotesSettings | None = None) -> list[APIRouter]:
    """Return every router the service mounts under `/api/v1`."""
    settings = settings if settings is not None else NotesSettings()
    # FastAPI tries routes in order: the routes called most come first (docs/edge.md).
    return [notes_router(), admin_router(), notes_auth(settings).router]
