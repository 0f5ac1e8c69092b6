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
├── InvalidSortError (422 INVALID_SORT)
├── InvalidValueError (422 INVALID_VALUE)
└── ReadOnlyFieldError (422 READ_ONLY_FIELD)
ServiceUnavailableError (503)
└── DatabaseUnavailableError (503 DATABASE_UNAVAILABLE)
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy import MetaData, Table
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError

from bastion.db._base import Base
from bastion.errors import (
    ConflictError,
    ServiceUnavailableError,
    ValidationFailedError,
)

__all__ = [
    "ConstraintViolationError",
    "DatabaseUnavailableError",
    "DuplicateError",
    "ForeignKeyViolationError",
    "InvalidCursorError",
    "InvalidFilterError",
    "InvalidSortError",
    "InvalidValueError",
    "ReadOnlyFieldError",
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


class InvalidValueError(ValidationFailedError):
    """The database cannot store a value; `details["reason"]` says why.

    `too_long` (longer than its column), `out_of_range` (a number or date
    beyond its column's type) or `invalid_text` (text the database cannot hold,
    such as the NUL character in PostgreSQL). The value itself is never echoed.
    """

    code = "INVALID_VALUE"
    default_message = "A value is too long, out of range, or text the database cannot store."


class ReadOnlyFieldError(ValidationFailedError):
    """An update names fields only the repository sets; `details["fields"]` lists them.

    `id`, `created_at`, `version` and `deleted_at` are never written from input:
    a client that wants its change applied only to the version it read sends
    `If-Match` (or the service passes `expected_version=`).
    """

    code = "READ_ONLY_FIELD"
    default_message = "The request sets fields that cannot be changed."


class DatabaseUnavailableError(ServiceUnavailableError):
    """The database is unreachable, busy or locked; retrying later may succeed.

    Locked includes contention between transactions: a locked SQLite file, and
    on PostgreSQL a deadlock, a serialization failure or a lock timeout, each of
    which rolled the transaction back.
    """

    code = "DATABASE_UNAVAILABLE"
    default_message = "The database is temporarily unavailable."


_PG_UNIQUE, _PG_FOREIGN_KEY, _PG_NOT_NULL, _PG_CHECK, _PG_EXCLUSION = (
    "23505",
    "23503",
    "23502",
    "23514",
    "23P01",
)
# SQLSTATEs of a value the database refuses (class 22, "data exception"); other
# class-22 errors (division by zero, a bad regular expression) are the code's own.
_PG_DATA_REASONS = {
    "22001": "too_long",  # string_data_right_truncation
    "22003": "out_of_range",  # numeric_value_out_of_range
    "22008": "out_of_range",  # datetime_field_overflow
    "22021": "invalid_text",  # character_not_in_repertoire (NUL)
    "22P05": "invalid_text",  # untranslatable_character
}
# asyncpg refuses an argument before sending it with SQLSTATE 22000; its cause tells why.
_PG_ARGUMENT_REFUSED = "22000"
# A server shutting down or starting up, too many connections (besides class 08,
# connection exceptions), a statement cancelled (`statement_timeout`, an operator's
# cancel), and contention that a retry can clear: a deadlock, a serialization
# failure, a lock not granted within `lock_timeout`.
_PG_UNAVAILABLE = frozenset(
    {"57P01", "57P02", "57P03", "53300", "57014", "40P01", "40001", "55P03"}
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
        # SQLAlchemy's asyncpg adapter raises its error from asyncpg's, which alone
        # names the constraint; the repository's PostgreSQL tests check the chain.
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


def _sqlstate(exc: DBAPIError) -> str | None:
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return str(state) if state is not None else None


def _unavailable(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    state = _sqlstate(exc)
    if state is not None:
        return state.startswith("08") or state in _PG_UNAVAILABLE
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text


def _data_reason(exc: DBAPIError) -> str | None:
    """Why the database refused a value, or `None` when the error is not about a value."""
    state = _sqlstate(exc)
    if state == _PG_ARGUMENT_REFUSED:
        # The driver's own refusal (an int beyond int32, a Decimal whose exponent
        # `numeric` cannot hold, a lone surrogate) chains the Python error that caused
        # it; a wrong Python type (a TypeError) stays a server bug.
        cause = exc.orig.__cause__ if exc.orig is not None else None
        reason = cause.__cause__ if cause is not None else None
        if isinstance(reason, OverflowError):
            return "out_of_range"
        if isinstance(reason, ValueError) and not isinstance(reason, UnicodeError):
            return "out_of_range"
        if isinstance(reason, UnicodeError):
            return "invalid_text"
        return None
    return _PG_DATA_REASONS.get(state) if state is not None else None


def _database_unavailable() -> DatabaseUnavailableError:
    return DatabaseUnavailableError(headers={"Retry-After": "1"})


@contextmanager
def translate_errors(
    *, codes: Mapping[str, str] | None = None, metadata: MetaData | None = None
) -> Iterator[None]:
    """Turn driver errors raised inside the block into bastion errors.

    Unique (and exclusion) violations become `DuplicateError` (409 `CONFLICT`, or
    the code `codes` maps the constraint name to), foreign-key violations
    `ForeignKeyViolationError` (409), NOT NULL and CHECK violations
    `ConstraintViolationError` (422), a value the database cannot store
    (too long, out of range, text such as NUL) `InvalidValueError` (422), a
    stale version `StaleVersionError` (409), and a database that cannot be
    reached or answers too late (refused or lost connection, connect or
    statement timeout (the driver's or the server's `statement_timeout`), no
    free pooled connection, a locked SQLite file, a PostgreSQL deadlock,
    serialization failure or lock timeout)
    `DatabaseUnavailableError` (503). The constraint name goes in `details`;
    SQL, values and driver text never do.

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
    except DBAPIError as exc:
        if _unavailable(exc):
            raise _database_unavailable() from exc
        reason = _data_reason(exc)
        if reason is not None:
            raise InvalidValueError(details={"reason": reason}) from exc
        raise
    except PoolTimeoutError as exc:  # every pooled connection stayed busy for pool_timeout
        raise _database_unavailable() from exc
    except StatementError as exc:  # a bind refused the value before sending it
        if isinstance(exc.orig, OverflowError):  # a moment out of range once in UTC
            raise InvalidValueError(details={"reason": "out_of_range"}) from exc
        raise
    except OverflowError as exc:  # SQLite: an integer beyond 64 bits, refused before sending
        raise InvalidValueError(details={"reason": "out_of_range"}) from exc
    except OSError as exc:  # refused or unreachable, and the connect or statement timeout
        raise _database_unavailable() from exc
