"""`BaseRepository[Model, Out]`: typed data access that returns frozen DTOs, never ORM entities."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python
from sqlalchemy import (
    ColumnElement,
    Delete,
    Row,
    Update,
    and_,
    delete,
    exists,
    func,
    inspect,
    or_,
    select,
)
from sqlalchemy import insert as sa_insert
from sqlalchemy import update as sa_update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute
from sqlalchemy.sql.base import ExecutableOption

from bastion.core.errors import NotFoundError
from bastion.db.base import utcnow
from bastion.db.errors import (
    InvalidCursorError,
    InvalidSortError,
    StaleVersionError,
    translate_errors,
)
from bastion.db.filters import Filter
from bastion.db.pagination import CursorPayload, KeysetPage, KeysetParams, OffsetPage, OffsetParams

__all__ = ["BaseRepository", "Values"]

ModelT = TypeVar("ModelT", bound=DeclarativeBase)
OutT = TypeVar("OutT", bound=BaseModel)

#: Input a write accepts: a Pydantic model (its set fields) or a mapping of column values.
Values = BaseModel | Mapping[str, object]

_UPDATE_PROTECTED = frozenset({"id", "created_at", "version", "deleted_at"})


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a repository class reads from its model and DTO once."""

    names: tuple[str, ...]
    columns: tuple[InstrumentedAttribute[object], ...]
    column_names: frozenset[str]
    pk: InstrumentedAttribute[object]
    pk_adapter: TypeAdapter[object]
    timestamped: bool
    versioned: bool
    soft_delete: bool
    scope: str
    relations: frozenset[str]


class BaseRepository(Generic[ModelT, OutT]):
    """Data access for one model, returning `out` DTOs; subclass it per model.

    ```python
    class NoteRepository(BaseRepository[Note, NoteOut]):
        model = Note
        out = NoteOut
    ```

    Every `out` field must be a column of `model` (reads select exactly those
    columns). Repositories flush, never commit: the `UnitOfWork` owns the
    transaction. Driver errors become bastion errors (`translate_errors`), with
    the codes `conflict_codes` names.

    Attributes:
        model: The mapped class.
        out: The frozen Pydantic DTO reads return.
        default_sort: Sort used when none is given (`-field` for descending).
        sortable: Fields a caller may sort by (NOT NULL columns of `out`).
        conflict_codes: Constraint name to error code (for example `EMAIL_TAKEN`).
        session: The unit of work's session.
    """

    model: type[ModelT]
    out: type[OutT]
    default_sort: ClassVar[str] = "-created_at"
    sortable: ClassVar[frozenset[str]] = frozenset({"created_at"})
    conflict_codes: ClassVar[Mapping[str, str]] = {}
    _shape_cache: ClassVar[_Shape | None] = None

    def __init__(self, session: AsyncSession) -> None:
        """Bind the repository to a session (normally `uow.session`)."""
        self.session = session

    # -- shape ---------------------------------------------------------------

    @classmethod
    def _shape(cls) -> _Shape:
        shape = cls.__dict__.get("_shape_cache")
        if isinstance(shape, _Shape):
            return shape
        mapper = inspect(cls.model)
        relations = frozenset(cls.out.model_fields) & set(mapper.relationships.keys())
        names = tuple(name for name in cls.out.model_fields if name not in relations)
        missing = [name for name in names if name not in mapper.columns]
        if missing:
            raise TypeError(f"{cls.__name__}.out fields are not columns of the model: {missing}")
        if len(mapper.primary_key) != 1:
            raise TypeError(f"{cls.__name__}: the model needs a single-column primary key")
        pk_name = mapper.get_property_by_column(mapper.primary_key[0]).key
        pk_type = mapper.primary_key[0].type.python_type
        columns = set(mapper.columns.keys())
        shape = _Shape(
            names=names,
            columns=tuple(getattr(cls.model, name) for name in names),
            column_names=frozenset(columns),
            pk=getattr(cls.model, pk_name),
            pk_adapter=TypeAdapter(pk_type),
            timestamped={"created_at", "updated_at"} <= columns,
            versioned="version" in columns,
            soft_delete="deleted_at" in columns,
            scope=str(getattr(mapper.local_table, "name", cls.model.__name__)),
            relations=relations,
        )
        cls._shape_cache = shape
        return shape

    def _visible(self, shape: _Shape) -> builtins.list[ColumnElement[bool]]:
        if shape.soft_delete:
            return [getattr(self.model, "deleted_at").is_(None)]  # noqa: B009  # column of a mixin
        return []

    def _where(self, filters: Iterable[Filter]) -> builtins.list[ColumnElement[bool]]:
        return [*self._visible(self._shape()), *(f.clause(self.model) for f in filters)]

    async def _fetch(
        self,
        where: Sequence[ColumnElement[bool]],
        *,
        order: Sequence[ColumnElement[object]] = (),
        limit: int | None = None,
        offset: int = 0,
        load: Sequence[ExecutableOption] = (),
    ) -> builtins.list[OutT]:
        """Select the DTO's columns (or, with loads or relationship fields, the entity)."""
        shape = self._shape()
        if load or shape.relations:
            entities = select(self.model).options(*load).where(*where).order_by(*order)
            entities = entities.limit(limit).offset(offset or None)
            with translate_errors(metadata=self.model.metadata):
                result = (await self.session.execute(entities)).scalars()
            return [self.out.model_validate(entity, from_attributes=True) for entity in result]
        stmt = select(*shape.columns).where(*where).order_by(*order)
        stmt = stmt.limit(limit).offset(offset or None)
        with translate_errors(metadata=self.model.metadata):
            rows = await self.session.execute(stmt)
        return [self._dto(row) for row in rows]

    def _dto(self, row: Row[*tuple[object, ...]]) -> OutT:
        return self.out.model_validate(dict(zip(self._shape().names, row, strict=True)))

    def _order(self, sort: str | None) -> tuple[str, InstrumentedAttribute[object], bool]:
        sort = sort or self.default_sort
        field = sort.removeprefix("-")
        if field not in self.sortable or field not in self._shape().names:
            raise InvalidSortError(f"Cannot sort by {field!r}.", details={"sort": sort})
        return sort, getattr(self.model, field), sort.startswith("-")

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

    def _ordering(self, sort: str | None) -> tuple[ColumnElement[object], ...]:
        _, column, descending = self._order(sort)
        pk = self._shape().pk
        return (column.desc(), pk.desc()) if descending else (column.asc(), pk.asc())

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

        The next cursor is signed and pins this list and sort; it is `None` on
        the last page.

        Raises:
            InvalidCursorError: The cursor was made for another list or sort.
        """
        sort_name, column, descending = self._order(sort)
        shape = self._shape()
        where = self._where(filters)
        if params.after is not None:
            key, last_id = self._cursor_values(params.after, sort_name, column.key)
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
                    scope=self._scope(),
                    sort=sort_name,
                    key=to_jsonable_python(getattr(last, column.key)),
                    id=str(getattr(last, shape.pk.key)),
                )
            )
        return KeysetPage(items=items, next_cursor=next_cursor)

    def _scope(self) -> str:
        return self._shape().scope

    def _cursor_values(self, cursor: CursorPayload, sort: str, field: str) -> tuple[object, object]:
        if cursor.scope != self._scope() or cursor.sort != sort:
            raise InvalidCursorError("The cursor belongs to another list or sort.")
        try:
            annotation = self.out.model_fields[field].annotation
            key = TypeAdapter(annotation or object).validate_python(cursor.key)
            last_id = self._shape().pk_adapter.validate_python(cursor.id)
        except ValidationError as exc:
            raise InvalidCursorError() from exc
        return key, last_id

    async def offset_page(
        self, params: OffsetParams, *filters: Filter, sort: str | None = None
    ) -> OffsetPage[OutT]:
        """Return one offset page; the total comes from a separate `COUNT` when asked for."""
        items = await self.list(*filters, sort=sort, limit=params.limit, offset=params.offset)
        total = await self.count(*filters) if params.with_total else None
        return OffsetPage(items=items, limit=params.limit, offset=params.offset, total=total)

    # -- writes --------------------------------------------------------------

    def _values(self, data: Values, *, partial: bool = False) -> dict[str, object]:
        if isinstance(data, BaseModel):
            values = data.model_dump(exclude_unset=partial)
        else:
            values = dict(data)
        unknown = values.keys() - self._shape().column_names
        if unknown:
            raise ValueError(f"{type(self).__name__}: not columns of the model: {sorted(unknown)}")
        return values

    def _stamped(self, values: dict[str, object]) -> dict[str, object]:
        if self._shape().timestamped:
            now = utcnow()
            values.setdefault("created_at", now)
            values.setdefault("updated_at", now)
        return values

    async def add(self, data: Values) -> OutT:
        """Insert one row (its UUIDv7 key made in Python) and return it as a DTO."""
        values = self._stamped(self._values(data))
        stmt = sa_insert(self.model).values(values).returning(*self._shape().columns)
        with translate_errors(codes=self.conflict_codes, metadata=self.model.metadata):
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
        expected_version: int | None = None,
    ) -> OutT:
        """Apply a partial update (a model's set fields) and return the new row.

        Args:
            id: The primary key.
            data: The changes; for a Pydantic model only the fields the client set.
            *filters: Extra conditions the row must meet (for example its owner).
            expected_version: With `VersionMixin`, the version the caller read.

        Raises:
            NotFoundError: No such (visible) row.
            StaleVersionError: The row's version is not `expected_version`.
        """
        shape = self._shape()
        values = self._values(data, partial=True)
        protected = values.keys() & _UPDATE_PROTECTED
        if protected:
            raise ValueError(f"{type(self).__name__}: cannot update {sorted(protected)}")
        where = [shape.pk == id, *self._where(filters)]
        if shape.versioned:
            version = getattr(self.model, "version")  # noqa: B009  # column of a mixin
            values["version"] = version + 1
            if expected_version is not None:
                where.append(version == expected_version)
        if shape.timestamped:
            values["updated_at"] = utcnow()
        if not values:
            return await self.get(id, *filters)
        stmt = sa_update(self.model).where(*where).values(values).returning(*shape.columns)
        with translate_errors(codes=self.conflict_codes, metadata=self.model.metadata):
            result = await self.session.execute(
                stmt, execution_options={"synchronize_session": False}
            )
            row = result.first()
        if row is not None:
            return self._dto(row)
        if expected_version is not None and await self.get_or_none(id, *filters) is not None:
            raise StaleVersionError(details={"reason": "stale_version"})
        raise NotFoundError()

    async def delete(self, id: object, *filters: Filter, hard: bool = False) -> None:
        """Delete a row; with `SoftDeleteMixin` mark it deleted unless `hard`.

        Args:
            id: The primary key.
            *filters: Extra conditions the row must meet (for example its owner).
            hard: Really delete a soft-deletable row.

        Raises:
            NotFoundError: No such (visible) row.
        """
        shape = self._shape()
        where = [shape.pk == id, *self._where(filters)]
        stmt: Update | Delete
        if shape.soft_delete and not hard:
            stmt = sa_update(self.model).where(*where).values(deleted_at=utcnow())
        else:
            stmt = delete(self.model).where(*where)
        with translate_errors(codes=self.conflict_codes, metadata=self.model.metadata):
            result = await self.session.execute(
                stmt.returning(shape.pk), execution_options={"synchronize_session": False}
            )
            if result.first() is None:
                raise NotFoundError()

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
        upsert = stmt.on_conflict_do_update(index_elements=list(conflict), set_=set_)
        with translate_errors(codes=self.conflict_codes, metadata=self.model.metadata):
            row = (await self.session.execute(upsert.returning(*shape.columns))).one()
        return self._dto(row)
