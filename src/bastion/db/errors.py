"""Database errors and the one place that turns driver errors into them.

```
ConflictError (409 CONFLICT)
├── DuplicateError (409 CONFLICT, or the code a repository names)
├── ForeignKeyViolationError (409 FOREIGN_KEY_VIOLATION)
└── StaleVersionError (409 CONFLICT)
ValidationFailedError (422)
├── ConstraintViolationError (422 CONSTRAINT_VIOLATION)
├── InvalidCursorError (422 INVALID_CURSOR)
├── InvalidFilterError (422 INVALID_FILTER)
└── InvalidSortError (422 INVALID_SORT)
ServiceUnavailableError (503)
└── DatabaseUnavailableError (503 DATABASE_UNAVAILABLE)
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy import MetaData, Table
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from bastion.core.errors import (
    ConflictError,
    ServiceUnavailableError,
    ValidationFailedError,
)
from bastion.db.base import Base

__all__ = [
    "ConstraintViolationError",
    "DatabaseUnavailableError",
    "DuplicateError",
    "ForeignKeyViolationError",
    "InvalidCursorError",
    "InvalidFilterError",
    "InvalidSortError",
    "StaleVersionError",
    "translate_errors",
]


class DuplicateError(ConflictError):
    """A unique constraint refused the write; `details["constraint"]` names it."""

    default_message = "A resource with the same unique value already exists."


class ForeignKeyViolationError(ConflictError):
    """The write refers to a missing row, or removes a row still referred to."""

    code = "FOREIGN_KEY_VIOLATION"
    default_message = "The resource refers to, or is referred to by, another resource."


class StaleVersionError(ConflictError):
    """The row changed since it was read (optimistic concurrency)."""

    default_message = "The resource was changed by someone else; reload it and retry."


class ConstraintViolationError(ValidationFailedError):
    """A NOT NULL or CHECK constraint refused the write."""

    code = "CONSTRAINT_VIOLATION"
    default_message = "The data breaks a rule of the schema."


class InvalidCursorError(ValidationFailedError):
    """A pagination cursor is malformed, tampered with, or made for another list."""

    code = "INVALID_CURSOR"
    default_message = "The cursor is invalid."


class InvalidFilterError(ValidationFailedError):
    """A filter names a field that cannot be filtered on."""

    code = "INVALID_FILTER"
    default_message = "The filter is invalid."


class InvalidSortError(ValidationFailedError):
    """A sort names a field outside the repository's allow-list."""

    code = "INVALID_SORT"
    default_message = "The sort is invalid."


class DatabaseUnavailableError(ServiceUnavailableError):
    """The database is unreachable or locked; retrying later may succeed."""

    code = "DATABASE_UNAVAILABLE"
    default_message = "The database is temporarily unavailable."


_PG_UNIQUE, _PG_FOREIGN_KEY, _PG_NOT_NULL, _PG_CHECK, _PG_EXCLUSION = (
    "23505",
    "23503",
    "23502",
    "23514",
    "23P01",
)
_SQLITE_MESSAGE = re.compile(r"^(UNIQUE|FOREIGN KEY|NOT NULL|CHECK) constraint failed(?:: (.*))?$")


def _sqlite_unique_name(columns: str, metadata: MetaData | None) -> str | None:
    """SQLite reports `table.col, table.col`: find the constraint those columns form."""
    pairs = [part.strip().split(".", 1) for part in columns.split(",")]
    if metadata is None or not pairs or any(len(pair) != 2 for pair in pairs):
        return None
    table = metadata.tables.get(pairs[0][0])
    if not isinstance(table, Table):
        return None
    wanted = {column for _, column in pairs}
    for constraint in table.constraints:
        names = {column.name for column in getattr(constraint, "columns", ())}
        if names == wanted and isinstance(constraint.name, str):
            return constraint.name
    for index in table.indexes:
        if index.unique and {column.name for column in index.columns} == wanted:
            return str(index.name)
    return None


def _integrity(
    exc: IntegrityError, codes: Mapping[str, str], metadata: MetaData | None
) -> Exception:
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    kind: str | None = None
    name: str | None = None
    if sqlstate is not None:
        cause = orig.__cause__ if orig is not None else None
        name = getattr(cause, "constraint_name", None)
        kind = {
            _PG_UNIQUE: "UNIQUE",
            _PG_EXCLUSION: "UNIQUE",
            _PG_FOREIGN_KEY: "FOREIGN KEY",
            _PG_NOT_NULL: "NOT NULL",
            _PG_CHECK: "CHECK",
        }.get(str(sqlstate))
        if kind == "NOT NULL":
            name = getattr(cause, "column_name", None)
    else:
        match = _SQLITE_MESSAGE.match(str(orig))
        if match:
            kind, subject = match.group(1), match.group(2)
            if kind == "UNIQUE" and subject:
                name = _sqlite_unique_name(subject, metadata) or subject
            elif kind == "CHECK" and subject:
                name = subject
            elif kind == "NOT NULL" and subject:
                name = subject.rsplit(".", 1)[-1]
    details: dict[str, object] = {"constraint": name}
    code = codes.get(name) if name is not None else None
    if kind == "FOREIGN KEY":
        return ForeignKeyViolationError(details=details, code=code)
    if kind in ("NOT NULL", "CHECK"):
        if kind == "NOT NULL":
            details = {"constraint": None, "column": name}
        return ConstraintViolationError(details=details, code=code)
    return DuplicateError(details=details, code=code)


def _unavailable(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text


@contextmanager
def translate_errors(
    *, codes: Mapping[str, str] | None = None, metadata: MetaData | None = None
) -> Iterator[None]:
    """Turn driver errors raised inside the block into bastion errors.

    Unique (and exclusion) violations become `DuplicateError` (409 `CONFLICT`, or
    the code `codes` maps the constraint name to), foreign-key violations
    `ForeignKeyViolationError` (409), NOT NULL and CHECK violations
    `ConstraintViolationError` (422), a stale version `StaleVersionError` (409),
    and a lost connection or a locked SQLite file `DatabaseUnavailableError` (503).
    The constraint name goes in `details`; SQL and driver text never do.

    Args:
        codes: Constraint name to error code, for example `{"uq_users_email": "EMAIL_TAKEN"}`.
        metadata: Used to name SQLite unique constraints (SQLite reports only columns);
            defaults to `bastion.db.Base.metadata`.
    """
    if metadata is None:
        metadata = Base.metadata
    try:
        yield
    except IntegrityError as exc:
        raise _integrity(exc, codes or {}, metadata) from exc
    except StaleDataError as exc:
        raise StaleVersionError(details={"reason": "stale_version"}) from exc
    except (OperationalError, DBAPIError) as exc:
        if _unavailable(exc):
            raise DatabaseUnavailableError(headers={"Retry-After": "1"}) from exc
        raise
    except OSError as exc:
        raise DatabaseUnavailableError(headers={"Retry-After": "1"}) from exc
