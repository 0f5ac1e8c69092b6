"""Typed filter objects a repository turns into SQL `WHERE` clauses."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from sqlalchemy import ColumnElement, inspect, or_
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute

from bastion.db._errors import InvalidFilterError

__all__ = [
    "After",
    "Before",
    "Eq",
    "Filter",
    "Ge",
    "Gt",
    "In",
    "IsNull",
    "Le",
    "Lt",
    "Ne",
    "NotIn",
    "Search",
    "column_of",
]


def column_of(model: type[DeclarativeBase], field: str) -> InstrumentedAttribute[object]:
    """Return the mapped column attribute `field` of `model`.

    Raises:
        InvalidFilterError: `field` is not a column of the model.
    """
    if field not in inspect(model).columns:
        raise InvalidFilterError(f"Cannot filter on {field!r}.", details={"field": field})
    attribute: InstrumentedAttribute[object] = getattr(model, field)
    return attribute


@runtime_checkable
class Filter(Protocol):
    """Anything that can render itself as a boolean clause over a model."""

    def clause(self, model: type[DeclarativeBase]) -> ColumnElement[bool]:
        """Return the SQL condition for `model`."""
        ...


@dataclass(frozen=True, slots=True)
class Eq:
    """`field = value`."""

    field: str
    value: object

    def clause(self, model: type[DeclarativeBase]) -> ColumnElement[bool]:
        """Render the condition."""
        return column_of(model, self.field) == self.value


@dataclass(frozen=True, slots=True)
class Ne:
    """`field <> value`."""

    field: str
    value: object

    def clause(self, model: type[DeclarativeBase]) -> ColumnElement[bool]:
        """Render the condition."""
        return column_of(model, self.field) != self.value


@dataclass(frozen=True, slots=True)
class Lt:
    """`field < value`."""

    field: str
    value: object

    def clause(self, model: type[DeclarativeBase]) -> ColumnElement[bool]:
        """Render the condition."""
        return column_of(model, self.field) < self.value


@dataclass(frozen=True, slots=True)
class Le:
    """`field <= value`."""

    field: str
    value: object

    def clause(self, model: type[DeclarativeBase]) -> ColumnElement[bool]:
        """Render the condition."""
        return column_of(model, self.field) <= self.value


@dataclass(frozen=True, slots=True)
class Gt:
    """`field > value`."""

    field: str
    value: object

    def clause(self, model: type[DeclarativeBase]) -> ColumnElement[bool]:
        """Render the condition."""
        return column_of(model, self.field) > self.value


@dataclass(frozen=True, slots=True)
class Ge:
    """`field >= value`."""

    field: str
    value: object

    def clause(self, model: type[DeclarativeBase]) -> ColumnElement[bool]:
        """Render the condition."""
        return column_of(model, self.field) >= self.value


@dataclass(frozen=True, slots=True)
class In:
    """`field IN (values)` (an empty collection matches nothing)."""

    field: str
    values: Collection[object]

    def clause(self, model: type[DeclarativeBase]) -> ColumnElement[bool]:
        """Render the condition."""
        return column_of(model, self.field).in_(list(self.values))


@dataclass(frozen=True, slots=True)
class NotIn:
    """`field NOT IN (values)` (an empty collection matches everything)."""

    field: str
    values: Collection[object]

    def clause(self, model: type[DeclarativeBase]) -> ColumnElement[bool]:
        """Render the condition."""
        return column_of(model, self.field).not_in(list(self.values))


@dataclass(frozen=True, slots=True)
class IsNull:
    """`field IS NULL`, or `IS NOT NULL` with `null=False`."""

    field: str
    null: bool = True

    def clause(self, model: type[DeclarativeBase]) -> ColumnElement[bool]:
        """Render the condition."""
        column = column_of(model, self.field)
        return column.is_(None) if self.null else column.is_not(None)


@dataclass(frozen=True, slots=True)
class Before:
    """`field < moment` (or `<=` with `inclusive=True`)."""

    field: str
    moment: datetime
    inclusive: bool = False

    def clause(self, model: type[DeclarativeBase]) -> ColumnElement[bool]:
        """Render the condition."""
        column = column_of(model, self.field)
        return column <= self.moment if self.inclusive else column < self.moment


@dataclass(frozen=True, slots=True)
class After:
    """`field > moment` (or `>=` with `inclusive=True`)."""

    field: str
    moment: datetime
    inclusive: bool = False

    def clause(self, model: type[DeclarativeBase]) -> ColumnElement[bool]:
        """Render the condition."""
        column = column_of(model, self.field)
        return column >= self.moment if self.inclusive else column > self.moment


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True, slots=True)
class Search:
    """A case-insensitive substring match over one or more text fields (ORed).

    `%` and `_` in the term match themselves, not any text.
    """

    fields: Sequence[str]
    term: str

    def clause(self, model: type[DeclarativeBase]) -> ColumnElement[bool]:
        """Render the condition."""
        if not self.fields:
            raise InvalidFilterError("A search needs at least one field.")
        pattern = f"%{_escape_like(self.term)}%"
        return or_(*(column_of(model, field).ilike(pattern, escape="\\") for field in self.fields))
