"""`BaseRepository[Model, Out]`: typed data access that returns frozen DTOs, never ORM entities."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from typing import NoReturn

from pydantic_core import to_jsonable_python
from sqlalchemy import Delete, Update, and_, delete, exists, func, or_, select
from sqlalchemy import insert as sa_insert
from sqlalchemy import update as sa_update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.base import ExecutableOption

from bastion.db._base import utcnow
from bastion.db._core import ExpectedVersion, ModelT, OutT, RepositoryCore, Values
from bastion.db._errors import (
    DuplicateError,
    ReadOnlyFieldError,
    StaleVersionError,
    translate_errors,
)
from bastion.db._filters import Filter
from bastion.db._pagination import CursorPayload, KeysetPage, KeysetParams, OffsetPage, OffsetParams
from bastion.errors import NotFoundError

__all__ = ["BaseRepository", "ExpectedVersion", "Values"]

_UPDATE_PROTECTED = frozenset({"id", "created_at", "version", "deleted_at"})


class BaseRepository(RepositoryCore[ModelT, OutT]):
    """Data access for one model, returning `out` DTOs; subclass it per model.

    ```python
    class NoteRepository(BaseRepository[Note, NoteOut]):
        model = Note
        out = NoteOut
    ```

    Every `out` field must be a column of `model` (reads select exactly those
    columns). A repository built with a scope, `NoteRepository(uow.session,
    owner_id=user.id)`, sees and changes only that owner's rows, and its inserts
    belong to that owner: a row outside the scope is a 404, like a missing one. Repositories flush, never commit: the `UnitOfWork` owns the
    transaction. Driver errors become bastion errors (`translate_errors`), with
    the codes `conflict_codes` names.

    Attributes:
        model: The mapped class.
        out: The frozen Pydantic DTO reads return.
        default_sort: Sort used when none is given (`-field` for descending); a field of
            `out` listed in `sortable`, else defining the class raises `TypeError`.
        sortable: Fields a caller may sort by (NOT NULL columns of `out`).
        conflict_codes: Constraint name to error code (for example `EMAIL_TAKEN`).
        session: The unit of work's session.
        scope: The column values every statement is confined to (empty: none).
    """

    # -- reads ---------------------------------------------------------------

    async def get_or_none(
        self, id: object, *filters: Filter, load: Sequence[ExecutableOption] = ()
    ) -> OutT | None:
        """Return the row with primary key `id` as a DTO, or `None`.

        Args:
            id: The primary key.
            *filters: Extra conditions the row must meet (for example its owner).
            load: Eager-load options, for DTOs that include relationships
                (the entity is loaded and validated from its attributes).
        """
        shape = self._shape()
        found = await self._fetch([shape.pk == id, *self._where(filters)], load=load)
        return found[0] if found else None

    async def get(
        self, id: object, *filters: Filter, load: Sequence[ExecutableOption] = ()
    ) -> OutT:
        """Return the row with primary key `id` as a DTO.

        Raises:
            NotFoundError: No such (visible) row.
        """
        found = await self.get_or_none(id, *filters, load=load)
        if found is None:
            raise NotFoundError()
        return found

    async def get_many(self, ids: Iterable[object]) -> builtins.list[OutT]:
        """Return the rows with these primary keys, in the order given (missing ones skipped)."""
        wanted = builtins.list(ids)
        if not wanted:
            return []
        shape = self._shape()
        found = await self._fetch([shape.pk.in_(wanted), *self._where(())])
        by_id = {getattr(item, shape.pk.key): item for item in found}
        return [by_id[i] for i in wanted if i in by_id]

    async def list(
        self,
        *filters: Filter,
        sort: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        load: Sequence[ExecutableOption] = (),
    ) -> builtins.list[OutT]:
        """Return the rows matching every filter, sorted (ties broken by primary key).

        Args:
            *filters: Conditions, all of which must hold.
            sort: An allow-listed field, `-field` for descending; `default_sort` when omitted.
            limit: At most this many rows.
            offset: Rows to skip first.
            load: Eager-load options, for DTOs that include relationships.
        """
        return await self._fetch(
            self._where(filters), order=self._ordering(sort), limit=limit, offset=offset, load=load
        )

    async def count(self, *filters: Filter) -> int:
        """Count the rows matching every filter (a plain `COUNT(*)`)."""
        stmt = select(func.count()).select_from(self.model).where(*self._where(filters))
        with translate_errors(metadata=self.model.metadata):
            return int((await self.session.execute(stmt)).scalar_one())

    async def exists(self, *filters: Filter) -> bool:
        """Whether any row matches every filter."""
        stmt = select(exists().where(*self._where(filters)).select_from(self.model))
        with translate_errors(metadata=self.model.metadata):
            return bool((await self.session.execute(stmt)).scalar_one())

    async def page(
        self,
        params: KeysetParams,
        *filters: Filter,
        sort: str | None = None,
        load: Sequence[ExecutableOption] = (),
    ) -> KeysetPage[OutT]:
        """Return one keyset page: the rows after `params.after` in `(sort key, id)` order.

        The next cursor is signed and pins this list, its filters (their SQL and
        values) and sort; it is `None` on the last page.

        Raises:
            InvalidCursorError: The cursor was made for another list, filters or sort.
        """
        sort_name, column, descending = self._order(sort)
        shape = self._shape()
        where = self._where(filters)
        digest = self._digest(where)
        if params.after is not None:
            key, last_id = self._cursor_values(params.after, sort_name, column, digest)
            ahead = column < key if descending else column > key
            tie = shape.pk < last_id if descending else shape.pk > last_id
            # The redundant `col <= key` bound keeps a plain range scan on the (col, id) index.
            bound = column <= key if descending else column >= key
            where.append(and_(bound, or_(ahead, and_(column == key, tie))))
        rows = await self._fetch(
            where, order=self._ordering(sort), limit=params.limit + 1, load=load
        )
        items = rows[: params.limit]
        next_cursor = None
        if len(rows) > params.limit:
            last = items[-1]
            next_cursor = params.signer.encode(
                CursorPayload(
                    scope=self._list_name(),
                    sort=sort_name,
                    key=to_jsonable_python(getattr(last, column.key)),
                    id=str(getattr(last, shape.pk.key)),
                    filters=digest,
                )
            )
        return KeysetPage(items=items, next_cursor=next_cursor)

    async def offset_page(
        self, params: OffsetParams, *filters: Filter, sort: str | None = None
    ) -> OffsetPage[OutT]:
        """Return one offset page; the total comes from a separate `COUNT` when asked for."""
        items = await self.list(*filters, sort=sort, limit=params.limit, offset=params.offset)
        total = await self.count(*filters) if params.with_total else None
        return OffsetPage(items=items, limit=params.limit, offset=params.offset, total=total)

    # -- writes --------------------------------------------------------------

    async def _missing_or_stale(
        self, id: object, filters: Sequence[Filter], expected_version: ExpectedVersion
    ) -> NoReturn:
        """Why a conditional write touched no row: a version mismatch, or no such row."""
        if expected_version is not None and await self.get_or_none(id, *filters) is not None:
            raise StaleVersionError(details={"reason": "stale_version"})
        raise NotFoundError()

    async def add(self, data: Values) -> OutT:
        """Insert one row (its UUIDv7 key made in Python) and return it as a DTO.

        One `INSERT ... RETURNING`: the DTO holds what the database stored,
        server defaults and type round trips included.
        """
        shape = self._shape()
        values = self._stamped(self._values(data))
        with translate_errors(codes=self.conflict_codes, metadata=self.model.metadata):
            stmt = sa_insert(self.model).values(values).returning(*shape.columns)
            row = (await self.session.execute(stmt)).one()
        return self._dto(row)

    async def add_many(self, items: Iterable[Values]) -> int:
        """Insert many rows with one executemany `INSERT`; return how many."""
        rows = [self._stamped(self._values(item)) for item in items]
        if not rows:
            return 0
        with translate_errors(codes=self.conflict_codes, metadata=self.model.metadata):
            await self.session.execute(sa_insert(self.model), rows)
        return len(rows)

    async def update(
        self,
        id: object,
        data: Values,
        *filters: Filter,
        expected_version: ExpectedVersion = None,
    ) -> OutT:
        """Apply a partial update (a model's set fields) and return the new row.

        The version check and the write are one conditional `UPDATE`: a stale
        caller changes nothing. `data` with no changes writes nothing: the row
        comes back as it is (its version checked all the same), so an empty
        PATCH does not make other clients' `ETag`s stale.

        Args:
            id: The primary key.
            data: The changes; for a Pydantic model only the fields the client set.
            *filters: Extra conditions the row must meet (for example its owner).
            expected_version: With `VersionMixin`, the version the caller read
                (or the versions, any of which will do).

        Raises:
            NotFoundError: No such (visible) row.
            StaleVersionError: The row's version is not `expected_version`.
            ReadOnlyFieldError: `data` sets `id`, `created_at`, `version`,
                `deleted_at` or a scope column (422 `READ_ONLY_FIELD`, for a body
                that carries one).
            ValueError: `data` names unknown columns, or `expected_version` is
                given for a model without a version.
        """
        shape = self._shape()
        values = self._values(data, partial=True)
        protected = values.keys() & (_UPDATE_PROTECTED | self.scope.keys())
        if protected:
            raise ReadOnlyFieldError(details={"fields": sorted(protected)})
        where = [shape.pk == id, *self._where(filters), *self._version_is(expected_version)]
        if not values:  # nothing to change: no write, and the version and `updated_at` stay
            found = await self._fetch(where)
            if found:
                return found[0]
            await self._missing_or_stale(id, filters, expected_version)
        if shape.versioned:
            values["version"] = getattr(self.model, "version") + 1  # noqa: B009  # mixin column
        if shape.timestamped:
            values["updated_at"] = utcnow()
        stmt = sa_update(self.model).where(*where).values(values).returning(*shape.columns)
        with translate_errors(codes=self.conflict_codes, metadata=self.model.metadata):
            result = await self.session.execute(
                stmt, execution_options={"synchronize_session": False}
            )
            row = result.first()
        if row is not None:
            return self._dto(row)
        await self._missing_or_stale(id, filters, expected_version)
        raise AssertionError("unreachable")  # pragma: no cover

    async def delete(
        self,
        id: object,
        *filters: Filter,
        hard: bool = False,
        expected_version: ExpectedVersion = None,
    ) -> None:
        """Delete a row; with `SoftDeleteMixin` mark it deleted unless `hard`.

        Args:
            id: The primary key.
            *filters: Extra conditions the row must meet (for example its owner).
            hard: Really delete a soft-deletable row.
            expected_version: With `VersionMixin`, the version the caller read
                (or the versions, any of which will do).

        Raises:
            NotFoundError: No such (visible) row.
            StaleVersionError: The row's version is not `expected_version`.
        """
        shape = self._shape()
        where = [shape.pk == id, *self._where(filters), *self._version_is(expected_version)]
        stmt: Update | Delete
        if shape.soft_delete and not hard:
            stmt = sa_update(self.model).where(*where).values(deleted_at=utcnow())
        else:
            stmt = delete(self.model).where(*where)
        with translate_errors(codes=self.conflict_codes, metadata=self.model.metadata):
            result = await self.session.execute(
                stmt.returning(shape.pk), execution_options={"synchronize_session": False}
            )
            deleted = result.first() is not None
        if not deleted:
            await self._missing_or_stale(id, filters, expected_version)

    async def upsert(
        self, data: Values, *, conflict: Sequence[str], update: Sequence[str] | None = None
    ) -> OutT:
        """Insert, or update the row that already holds the `conflict` columns' values.

        Uses `INSERT ... ON CONFLICT DO UPDATE` (PostgreSQL and SQLite); the
        existing row keeps its primary key and `created_at`.

        Args:
            data: The full row.
            conflict: Columns of a unique constraint or index.
            update: Columns to overwrite on conflict (default: every given one but
                the conflict columns and the primary key).

        Raises:
            DuplicateError: The row holding the `conflict` values is outside the
                repository's scope (it is left as it is).
        """
        shape = self._shape()
        values = self._stamped(self._values(data))
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(self.model).values(values)
        skip = {*conflict, shape.pk.key, "created_at"}
        columns = update if update is not None else [k for k in values if k not in skip]
        set_ = {name: stmt.excluded[name] for name in columns}
        if shape.timestamped:
            set_["updated_at"] = stmt.excluded["updated_at"]
        if shape.versioned:
            set_["version"] = getattr(self.model, "version") + 1  # noqa: B009  # mixin column
        # In a scope, a conflicting row of another scope is never overwritten.
        scoped = self._in_scope()
        upsert = stmt.on_conflict_do_update(
            index_elements=list(conflict), set_=set_, where=and_(*scoped) if scoped else None
        )
        with translate_errors(codes=self.conflict_codes, metadata=self.model.metadata):
            row = (await self.session.execute(upsert.returning(*shape.columns))).first()
        if row is None:
            raise DuplicateError()
        return self._dto(row)
