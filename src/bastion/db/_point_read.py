"""`PointRead`: a small select on a hot path, sent straight to the driver beneath a connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, cast
from weakref import WeakKeyDictionary

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.asyncio.exc import AsyncContextNotStarted

from bastion.db._errors import _PG_UNAVAILABLE, _database_unavailable, translate_errors

__all__ = ["PointRead"]

T = TypeVar("T")

_Process = Callable[[object], object]
# Driver texts for a connection that is gone or a database that is busy (those without a SQLSTATE).
_UNAVAILABLE_TEXTS = ("connection is closed", "no active connection", "database is locked")


class _AsyncpgConnection(Protocol):
    async def fetchrow(self, query: str, *args: object) -> Sequence[object] | None: ...


class _AiosqliteConnection(Protocol):
    def execute_fetchall(
        self, sql: str, parameters: Iterable[object]
    ) -> Awaitable[Iterable[Sequence[object]]]: ...


async def _asyncpg_row(driver: _AsyncpgConnection, sql: str, args: list[object]) -> object:
    return await driver.fetchrow(sql, *args)


async def _aiosqlite_row(driver: _AiosqliteConnection, sql: str, args: list[object]) -> object:
    rows = await driver.execute_fetchall(sql, args)  # one trip to the connection's thread
    return next(iter(rows), None)


# The drivers whose connections take the statement directly, by SQLAlchemy's driver name.
_DRIVERS: dict[str, Callable[..., Awaitable[object]]] = {
    "asyncpg": _asyncpg_row,
    "aiosqlite": _aiosqlite_row,
}


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    binds: tuple[_Process | None, ...]
    result: _Process | None


def _compile(statement: Select[T], dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    types = [compiled.binds[name].type.dialect_impl(dialect) for name in names]
    column = statement.selected_columns[0].type.dialect_impl(dialect)
    return _Compiled(
        sql=compiled.string,
        names=names,
        binds=tuple(cast(_Process | None, kind.bind_processor(dialect)) for kind in types),
        result=cast(_Process | None, column.result_processor(dialect, None)),
    )


def _unavailable(exc: Exception) -> bool:
    if isinstance(exc, OSError):  # refused, reset, and the statement timeout
        return True
    state = getattr(exc, "sqlstate", None)
    if isinstance(state, str):
        return state.startswith("08") or state in _PG_UNAVAILABLE
    text = str(exc).lower()
    return any(part in text for part in _UNAVAILABLE_TEXTS)


class PointRead(Generic[T]):
    """A one-column select, run on the driver connection beneath an `AsyncConnection`.

    For a statement on the path of every request (the live-session check):
    SQLAlchemy's `execute` adapts an async driver to the synchronous DB-API,
    which on aiosqlite is a trip to the connection's thread for each of
    cursor, execute, fetch and close, and on asyncpg a layer of adaptation
    around its one round trip. `PointRead` compiles the statement once per
    dialect (through SQLAlchemy: its SQL, bind and result processing) and
    hands it to the driver connection the `AsyncConnection` holds: one trip
    to the thread on aiosqlite, one round trip on asyncpg. Other drivers run
    it through `AsyncConnection.execute`.

    The connection is the caller's, in whatever transaction it has begun. On
    SQLite that transaction has begun with the connection; asyncpg begins
    SQLAlchemy's transaction with its first statement through SQLAlchemy, so
    a `PointRead` before any runs as a statement of its own, which reads
    the latest committed rows, as any statement under READ COMMITTED does.
    The statement must only read.
    """

    def __init__(self, statement: Select[T]) -> None:
        """Wrap `statement`: one column, parameters as `bindparam`s named at `scalar`."""
        self.statement = statement
        self._compiled: WeakKeyDictionary[Dialect, _Compiled] = WeakKeyDictionary()

    async def scalar(self, connection: AsyncConnection, params: Mapping[str, object]) -> T | None:
        """The first column of the first row, or `None` when no row matches.

        Raises:
            DatabaseUnavailableError: The connection is lost, or the database too busy
                or too slow to answer (503); a lost connection is dropped from the pool.
        """
        sync = connection.sync_connection
        if sync is None:
            raise AsyncContextNotStarted("the connection has not been started")
        dialect = sync.dialect
        fetch = _DRIVERS.get(dialect.driver)
        if fetch is None:
            with translate_errors():
                result = await connection.execute(self.statement, params)
                return result.scalar_one_or_none()
        compiled = self._compiled.get(dialect)
        if compiled is None:
            compiled = self._compiled[dialect] = _compile(self.statement, dialect)
        args = [
            params[name] if bind is None else bind(params[name])
            for name, bind in zip(compiled.names, compiled.binds, strict=True)
        ]
        # The started connection holds its pooled DB-API connection: read it here, not
        # through `get_raw_connection`, which runs a greenlet only to read this attribute.
        driver = sync.connection.driver_connection
        try:
            row = await fetch(driver, compiled.sql, args)
        except Exception as exc:
            if not _unavailable(exc):
                raise
            # SQLAlchemy never saw the error: drop the connection, whose state is unknown.
            await connection.invalidate(exc)
            raise _database_unavailable() from exc
        if row is None:
            return None
        value = cast(Sequence[object], row)[0]
        return cast(T, value if compiled.result is None else compiled.result(value))
