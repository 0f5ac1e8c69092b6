"""Dependency-injection providers for persistence: the unit of work and page parameters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.db import (
    DEFAULT_PAGE_SIZE,
    MAX_CURSOR_LENGTH,
    MAX_PAGE_SIZE,
    CursorSigner,
    KeysetParams,
    OffsetParams,
    UnitOfWork,
)
from bastion.errors import ServiceUnavailableError, ValidationFailedError
from bastion.web._dependencies import AppResources, AppSettings
from bastion.web._routes import api_routes, depends_on

__all__ = [
    "KeysetQuery",
    "OffsetQuery",
    "Uow",
    "get_uow",
    "keyset_params",
    "offset_params",
    "share_uow",
    "uses_database",
]

# Methods that must not change state (RFC 9110): their transactions only read.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The `request.state` attribute holding a unit of work the route opened itself.
_SHARED = "bastion_unit_of_work"


def share_uow(request: Request, uow: UnitOfWork) -> None:
    """Make `uow` the request's unit of work: `Uow` yields it instead of opening one.

    For a route class that opens the transaction before the dependencies run
    (`IdempotentRoute` does, so its record commits with the endpoint's writes).
    Its opener commits or rolls it back; `Uow` neither commits nor closes it.
    """
    setattr(request.state, _SHARED, uow)


async def get_uow(request: Request, resources: AppResources) -> AsyncIterator[UnitOfWork]:
    """Yield the request's unit of work; commit on success, roll back on error.

    Used with `scope="function"` (see `Uow`), so the exit, and the commit, run
    after the endpoint returns and before the response is sent. A safe method
    (GET, HEAD, OPTIONS) gets a read-only session: on SQLite its transaction
    takes the write lock only if it writes, so reads go on while a write runs.
    The session (and its connection) opens when first used: a request that
    never touches it costs the database nothing.

    A unit of work the route opened (`share_uow`) is yielded as it is: its
    opener commits it. Its `session` raises `ServiceUnavailableError` (503)
    when the app has no database open.
    """
    shared = getattr(request.state, _SHARED, None)
    if isinstance(shared, UnitOfWork):
        yield shared
        return
    sessionmaker = resources.sessionmaker
    if request.method in _SAFE_METHODS and resources.read_sessionmaker is not None:
        sessionmaker = resources.read_sessionmaker
    async with UnitOfWork(sessionmaker or _no_database, jobs=resources.jobs) as uow:
        yield uow


def _no_database() -> AsyncSession:
    raise ServiceUnavailableError("The database is not configured.")


def _given_once(request: Request, *names: str) -> None:
    """Refuse a query parameter among `names` given more than once: 422 `VALIDATION_ERROR`.

    FastAPI keeps the last of a repeated one; a proxy or a cache in front may read
    the first, and see another page than the app serves. A repeated filter is
    refused too (`list_query`).
    """
    query = request.query_params
    for name in names:
        if len(query.getlist(name)) > 1:
            raise ValidationFailedError(
                f"The query parameter {name!r} is given more than once.",
                details=[
                    {"loc": ["query", name], "msg": "Give this parameter once.", "type": "repeated"}
                ],
            )


async def keyset_params(
    request: Request,
    settings: AppSettings,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")
    ] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page."),
    ] = None,
) -> KeysetParams:
    """Read `limit` and `cursor` from the query; a bad cursor is a 422 `INVALID_CURSOR`."""
    _given_once(request, "limit", "cursor")
    signer = CursorSigner(settings.secret_key.get_secret_value())
    return KeysetParams.parse(signer, limit=limit, cursor=cursor)


async def offset_params(
    request: Request,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")
    ] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")] = 0,
    total: Annotated[bool, Query(description="Also count every matching item.")] = False,
) -> OffsetParams:
    """Read `limit`, `offset` and `total` from the query."""
    _given_once(request, "limit", "offset", "total")
    return OffsetParams(limit=limit, offset=offset, with_total=total)


def uses_database(app: FastAPI) -> bool:
    """Whether any route of `app` (routers included, at any depth) depends on `Uow`.

    `create_app` opens the database only for an app that does (or is told to).
    """
    return any(
        route.dependant is not None and depends_on(route.dependant, lambda call: call is get_uow)
        for route in api_routes(app)
    )


Uow = Annotated[UnitOfWork, Depends(get_uow, scope="function")]
"""The request's `UnitOfWork`: `Annotated[UnitOfWork, Depends(get_uow, scope="function")]`.

Committed after the endpoint returns and before the response is sent; rolled
back when the request answers an error. Every dependency of one request gets
the same unit of work.
"""
KeysetQuery = Annotated[KeysetParams, Depends(keyset_params)]
"""Keyset page parameters from the query string: `Annotated[KeysetParams, Depends(keyset_params)]`.

Reads `limit` (1..100, default 20) and `cursor`; hand them to `BaseRepository.page`.
"""
OffsetQuery = Annotated[OffsetParams, Depends(offset_params)]
"""Offset page parameters from the query string: `Annotated[OffsetParams, Depends(offset_params)]`.

Reads `limit`, `offset` and `total`; hand them to `BaseRepository.offset_page`.
"""
