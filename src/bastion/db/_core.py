"""The internals every repository shares: the model's shape, row-to-DTO, ordering, values."""

from __future__ import annotations

import builtins
import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter
from pydantic_core import to_jsonable_python
from sqlalchemy import ColumnElement, Row, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute
from sqlalchemy.sql.base import ExecutableOption

from bastion.db._base import utcnow
from bastion.db._errors import InvalidCursorError, InvalidSortError, translate_errors
from bastion.db._filters import Filter
from bastion.db._pagination import CursorPayload

__all__ = ["ExpectedVersion", "ModelT", "OutT", "RepositoryCore", "Values"]

ModelT = TypeVar("ModelT", bound=DeclarativeBase)
OutT = TypeVar("OutT", bound=BaseModel)

#: Input a write accepts: a Pydantic model (its set fields) or a mapping of column values.
Values = BaseModel | Mapping[str, object]
#: The version(s) a conditional write expects the row to have; `None` writes unconditionally.
ExpectedVersion = int | Collection[int] | None


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


class RepositoryCore(Generic[ModelT, OutT]):
    """What `BaseRepository` is built on: configuration and private helpers only."""

    model: type[ModelT]
    out: type[OutT]
    default_sort: ClassVar[str] = "-created_at"
    sortable: ClassVar[frozenset[str]] = frozenset({"created_at"})
    conflict_codes: ClassVar[Mapping[str, str]] = {}
    _shape_cache: ClassVar[_Shape | None] = None

    def __init__(self, session: AsyncSession, **scope: object) -> None:
        """Bind the repository to a session (normally `uow.session`), and to a scope.

        Args:
            session: The unit of work's session.
            **scope: Column values that confine every statement, such as the
                owner (`owner_id=user.id`): reads, updates and deletes see only
                the rows holding them, and inserts write them.

        Raises:
            ValueError: A scope name is not a column of the model.
        """
        self.session = session
        if scope:
            unknown = scope.keys() - self._shape().column_names
            if unknown:
                raise ValueError(f"{type(self).__name__}: scope on non-columns {sorted(unknown)}")
        #: The column values every statement is confined to.
        self.scope: dict[str, object] = scope

    def __init_subclass__(cls, **kwargs: object) -> None:
        """Refuse, when the class is defined, a DTO field the model cannot supply.

        Only the model's own properties are consulted (not its relationships'
        targets), so models related to ones defined later still work.
        """
        super().__init_subclass__(**kwargs)
        model = cls.__dict__.get("model", getattr(cls, "model", None))
        out = cls.__dict__.get("out", getattr(cls, "out", None))
        if model is None or out is None:
            return  # an intermediate base: checked where both are set
        mapper = inspect(model)
        missing = [name for name in out.model_fields if not mapper.has_property(name)]
        if missing:
            raise TypeError(f"{cls.__name__}.out fields are not columns of the model: {missing}")
        default = cls.default_sort.removeprefix("-")
        if default not in cls.sortable or default not in out.model_fields:
            raise TypeError(
                f"{cls.__name__}.default_sort {cls.default_sort!r} must name a field of "
                f"{out.__name__} listed in sortable: set default_sort and sortable"
            )

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

    def _in_scope(self) -> builtins.list[ColumnElement[bool]]:
        return [getattr(self.model, name) == value for name, value in self.scope.items()]

    def _where(self, filters: Iterable[Filter]) -> builtins.list[ColumnElement[bool]]:
        return [
            *self._visible(self._shape()),
            *self._in_scope(),
            *(f.clause(self.model) for f in filters),
        ]

    def _version_is(self, expected: ExpectedVersion) -> builtins.list[ColumnElement[bool]]:
        """The condition that the row still has the version (one of the versions) expected."""
        if expected is None:
            return []
        if not self._shape().versioned:
            raise ValueError(f"{type(self).__name__}: the model has no VersionMixin version")
        version: InstrumentedAttribute[int] = getattr(self.model, "version")  # noqa: B009
        if isinstance(expected, int):
            return [version == expected]
        return [version.in_(builtins.list(expected))]

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

    def _ordering(self, sort: str | None) -> tuple[ColumnElement[object], ...]:
        _, column, descending = self._order(sort)
        pk = self._shape().pk
        return (column.desc(), pk.desc()) if descending else (column.asc(), pk.asc())

    def _list_name(self) -> str:
        return self._shape().scope

    def _digest(self, where: Sequence[ColumnElement[bool]]) -> str:
        """A digest of a list's conditions: their SQL and bound values, in order.

        Built from the compiled clauses rather than the filter objects, so any
        `Filter` (a host's own included) pins its cursor without help. An
        unfiltered list's digest is empty.
        """
        if not where:
            return ""
        digest = hashlib.blake2b(digest_size=12)
        # The engine's own dialect: it compiles whatever the query itself runs, and
        # lives as long as the engine (a dialect made per call is a reference cycle).
        dialect = self.session.get_bind().dialect
        for clause in where:
            compiled = clause.compile(dialect=dialect)
            params = to_jsonable_python(sorted(compiled.params.items()), fallback=repr)
            # The standard encoder takes any integer: the database, not the digest,
            # refuses one beyond its column's range.
            digest.update(json.dumps([str(compiled), params]).encode())
        return digest.hexdigest()

    def _cursor_values(
        self,
        cursor: CursorPayload,
        sort: str,
        column: InstrumentedAttribute[object],
        digest: str,
    ) -> tuple[object, object]:
        """The cursor's sort key and id, as values the columns' types accept.

        The signature only proves the cursor was made here, not that its content
        still fits (a column's type may have changed since): a key the column's
        type refuses to bind (a naive datetime for an aware column) is an
        `InvalidCursorError` here, not an error inside the query.
        """
        if cursor.scope != self._list_name() or cursor.sort != sort or cursor.filters != digest:
            raise InvalidCursorError("The cursor belongs to another list, filter or sort.")
        shape = self._shape()
        dialect = self.session.get_bind().dialect
        try:
            annotation = self.out.model_fields[column.key].annotation
            key = TypeAdapter(annotation or object).validate_python(cursor.key)
            last_id = shape.pk_adapter.validate_python(cursor.id)
            for attribute, value in ((column, key), (shape.pk, last_id)):
                bind = attribute.expression.type.bind_processor(dialect)
                if bind is not None:
                    bind(value)
        except (ValueError, TypeError, OverflowError) as exc:  # ValidationError included
            raise InvalidCursorError() from exc
        return key, last_id

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
        """A new row's values: the scope's (over any given) and the timestamps."""
        values.update(self.scope)
        if self._shape().timestamped:
            now = utcnow()
            values.setdefault("created_at", now)
            values.setdefault("updated_at", now)
        return values
