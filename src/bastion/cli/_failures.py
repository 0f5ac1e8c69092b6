"""One clear line for a database a command cannot use, instead of a driver traceback.

The operator running `bastion db upgrade` or `bastion users create-admin` needs
to know which of a few things is wrong (no server, no database, wrong
credentials, not migrated) and what to do about it; the traceback says none of
that plainly.
"""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.exc import DBAPIError

__all__ = ["database_failure", "one_line"]

#: How deep a chain of causes is followed (errors re-raised `from` the driver's).
_CHAIN_DEPTH = 8

_URL_HINT = "check BASTION_DATABASE_URL"
_MIGRATE_HINT = "is it migrated? run `bastion db upgrade`"

#: SQLSTATE (or its two-letter class) -> what it means and what to do.
_STATES: dict[str, str] = {
    "3D000": f"the database does not exist; create it or {_URL_HINT}",
    "28": f"the database refused the credentials; {_URL_HINT}",
    "3F000": "the schema does not exist; create it or check BASTION_DATABASE_SCHEMA",
    "08": f"cannot connect to the database; {_URL_HINT}",
    "57P03": "the database server is starting up or shutting down; retry shortly",
    "42P01": f"a table is missing; {_MIGRATE_HINT}",
    "42703": f"a column is missing; {_MIGRATE_HINT}",
}

#: SQLite reports no SQLSTATE: the start of its messages says the same things.
_SQLITE: tuple[tuple[str, str], ...] = (
    ("unable to open database file", f"cannot open the SQLite file; {_URL_HINT}"),
    ("no such table", f"a table is missing; {_MIGRATE_HINT}"),
    ("no such column", f"a column is missing; {_MIGRATE_HINT}"),
    ("database is locked", "the SQLite file is locked by another process; retry shortly"),
)


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and the errors it was raised from, outermost first (bounded)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < _CHAIN_DEPTH:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _first_line(error: object) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _from_driver(orig: BaseException | None) -> str:
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    said = _first_line(orig)
    if state is not None:
        state = str(state)
        meaning = _STATES.get(state) or _STATES.get(state[:2])
        if meaning is not None:
            return f"{meaning} ({said}; SQLSTATE {state})"
        return f"the database refused the command (SQLSTATE {state}, {type(orig).__name__})"
    lowered = said.lower()
    for start, meaning in _SQLITE:
        if lowered.startswith(start):
            return f"{meaning} ({said})"
    return f"the database refused the command ({type(orig).__name__})"


def database_failure(exc: BaseException) -> str | None:
    """Say in one line why the database could not serve a command.

    Follows the chain of causes, so an error bastion raised from the driver's
    (a 503 `DatabaseUnavailableError`) is explained by the driver's.

    Args:
        exc: What the command raised.

    Returns:
        The line (no traceback, no password), or None when no database error
        is in the chain.
    """
    for error in _chain(exc):
        if isinstance(error, DBAPIError) and not isinstance(error.orig, OSError):
            return _from_driver(error.orig)  # an OSError is explained below, as its cause
        if getattr(error, "sqlstate", None) is not None:
            # A driver error SQLAlchemy raised unwrapped (asyncpg's, at connect, on
            # SQLAlchemy 2.0.36): the same SQLSTATE says the same thing.
            return _from_driver(error)
        if isinstance(error, TimeoutError):
            return f"the database did not answer in time; {_URL_HINT}"
        if isinstance(error, OSError):
            return f"cannot reach the database ({_first_line(error)}); {_URL_HINT}"
    return None


def one_line(exc: BaseException) -> str:
    """An error's message on one line; invalid settings name each field, never its value."""
    if isinstance(exc, ValidationError):
        return f"invalid settings: {'; '.join(_setting_error(error) for error in exc.errors())}"
    return _first_line(exc)


def _setting_error(error: ErrorDetails) -> str:
    """`field: message`; a check of several settings names them in its message alone."""
    message = error["msg"].removeprefix("Value error, ")
    field = ".".join(str(part) for part in error["loc"])
    return f"{field}: {message}" if field else message
