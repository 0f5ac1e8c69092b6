"""The async engine and session factory, built from settings (in the lifespan, never at import)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import event, text
from sqlalchemy.engine import (
    URL,
    AdaptedConnection,
    Connection,
    Dialect,
    ExceptionContext,
    make_url,
)
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection, StaticPool

from bastion.core import BastionSettings
from bastion.db._errors import translate_errors

__all__ = ["create_engine", "create_sessionmaker", "database_ready_check", "is_sqlite"]

# The execution option marking connections whose transactions only read: on SQLite
# they begin DEFERRED, so they never wait for (nor hold) the write lock.
_READ_ONLY = "bastion_read_only"


def is_sqlite(url: str | URL) -> bool:
    """Whether `url` points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url)


def _install_sqlite_pragmas(engine: AsyncEngine, *, busy_timeout: int, wal: bool) -> None:
    """Foreign keys on, WAL, a busy timeout; SQLAlchemy owns BEGIN (for SAVEPOINTs)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # The sqlite3 module's own transaction handling breaks SAVEPOINT: turn it off
        # and emit BEGIN from the "begin" event below instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout)}")
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # a read-only check on its own connection: no transaction, no lock
        if options.get(_READ_ONLY):
            # A transaction declared read-only (a GET's unit of work): under WAL it
            # reads a snapshot while a writer holds the lock, and takes the lock
            # only if it writes after all.
            _begin(connection, "BEGIN")
            return
        # Every other transaction may write: IMMEDIATE takes the write lock up front.
        # A deferred transaction that reads, then writes while another commits fails
        # at once with SQLITE_BUSY (the busy timeout cannot help: waiting would
        # deadlock), which would surface as a 503; taking the lock first makes
        # concurrent writers queue under the busy timeout.
        _begin(connection, "BEGIN IMMEDIATE")


def _begin(connection: Connection, statement: str) -> None:
    """Send `statement` to aiosqlite in one trip to its thread.

    `exec_driver_sql` makes three (open a cursor, execute, close it): two
    more than the statement needs, on every request. A driver error comes back as
    SQLAlchemy's own (`OperationalError` for a locked file), as a statement
    would raise it, so `translate_errors` still answers 503.
    """
    adapted: object = connection.connection.dbapi_connection
    if not isinstance(adapted, AdaptedConnection):  # a synchronous driver
        connection.exec_driver_sql(statement)
        return
    dialect = connection.dialect
    error: type[Exception] = dialect.loaded_dbapi.Error
    try:
        adapted.run_async(lambda driver: driver.execute(statement))
    except error as exc:  # a locked file, say: not sent again, which would wait again
        raise DBAPIError.instance(statement, None, exc, error, dialect=dialect) from exc
    except ValueError:
        # aiosqlite's "no active connection": SQLAlchemy's statement path knows it
        # as a disconnect, drops the connection from the pool and raises the error
        # `translate_errors` answers with 503. Closed, it fails again at once.
        connection.exec_driver_sql(statement)


def _install_error_handling(engine: AsyncEngine) -> None:
    """Raise socket-level driver errors as SQLAlchemy's own, on a connection dropped from the pool.

    asyncpg raises `OSError` itself (a refused or timed-out connect, a reset, its
    statement timeout's `TimeoutError`), which SQLAlchemy passes on unwrapped.
    Wrapped, it is an `OperationalError` like every other driver error, so the
    app's error handlers answer a route's own statement with 503, as
    `translate_errors` does.
    """

    @event.listens_for(engine.sync_engine, "do_connect")
    def _on_connect(
        dialect: Dialect,
        _record: ConnectionPoolEntry,
        cargs: tuple[object, ...],
        cparams: dict[str, object],
    ) -> DBAPIConnection:
        try:
            return dialect.connect(*cargs, **cparams)
        except OSError as exc:  # the server is down, unreachable, or does not answer
            raise OperationalError(None, None, exc, connection_invalidated=True) from exc

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: ExceptionContext) -> DBAPIError | None:
        error = context.original_exception
        if not isinstance(error, OSError):
            return None
        # A statement that outlived the statement timeout leaves its connection
        # in an unknown state (a hung server may never answer the cancel), as a
        # reset leaves it gone: mark it disconnected, so the pool closes it
        # rather than resetting it, which would wait out the timeout once more.
        context.is_disconnect = True
        if context.sqlalchemy_exception is not None:
            return None
        return OperationalError(
            context.statement, context.parameters, error, connection_invalidated=True
        )


def _install_closed_check(engine: AsyncEngine) -> None:
    """Replace a pooled asyncpg connection the server closed, before handing it out."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(
        dbapi_connection: DBAPIConnection,
        _record: ConnectionPoolEntry,
        _proxy: PoolProxiedConnection,
    ) -> None:
        # A backend terminated or restarted while its connection sat in the pool
        # closed the socket, and asyncpg has seen it: asking costs no round trip,
        # unlike the pre-ping. The pool drops the connection and opens another,
        # so the request never meets the dead one.
        if (
            isinstance(dbapi_connection, AdaptedConnection)
            and dbapi_connection.driver_connection.is_closed()
        ):
            raise DisconnectionError("the server closed this pooled connection")


def create_engine(settings: BastionSettings) -> AsyncEngine:
    """Build the async engine `settings.database_url` names.

    SQLite (`sqlite+aiosqlite`) gets foreign keys, WAL and the busy timeout on
    every connection; an in-memory database shares one connection. PostgreSQL
    (`postgresql+asyncpg`) gets the pool settings, the connect and statement
    timeouts and, when set, `database_schema` as its whole `search_path`.

    Args:
        settings: The app's settings.

    Returns:
        The engine; dispose of it at shutdown.

    Raises:
        ImportError: A PostgreSQL URL without asyncpg installed (the `postgres` extra).
    """
    url = make_url(settings.database_url.get_secret_value())
    options: dict[str, object] = {"echo": settings.database_echo}
    if is_sqlite(url):
        if _is_memory(url):
            options |= {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        # No pre-ping on SQLite: a connection to a local file cannot go stale,
        # and the ping is a thread hop and a statement on every checkout.
        engine = create_async_engine(url, **options)
        _install_sqlite_pragmas(
            engine, busy_timeout=settings.sqlite_busy_timeout, wal=not _is_memory(url)
        )
        return engine
    options |= {
        "pool_size": settings.database_pool_size,
        "max_overflow": settings.database_max_overflow,
        "pool_recycle": settings.database_pool_recycle,
        "pool_pre_ping": settings.database_pool_pre_ping,
        "pool_timeout": settings.database_pool_timeout,
    }
    asyncpg = url.get_backend_name() == "postgresql" and url.get_driver_name() == "asyncpg"
    if asyncpg:
        # A server that accepts connections but never answers must fail a request
        # within these, not hold it (and a pooled connection) for its whole budget.
        connect_args: dict[str, object] = {"timeout": settings.database_connect_timeout}
        if settings.database_statement_timeout:
            connect_args["command_timeout"] = settings.database_statement_timeout
        if settings.database_schema:
            # The schema alone: a table missing from it (migrations not yet run, say) must
            # not resolve to another app's table, nor Alembic's version to another's, in public.
            connect_args["server_settings"] = {"search_path": settings.database_schema}
        options["connect_args"] = connect_args
    try:
        engine = create_async_engine(url, **options)
    except ImportError as exc:
        if exc.name != "asyncpg":
            raise
        raise ImportError("PostgreSQL needs asyncpg: pip install 'bastion[postgres]'") from exc
    _install_error_handling(engine)
    if asyncpg:
        _install_closed_check(engine)
    return engine


def create_sessionmaker(
    bind: AsyncEngine | AsyncConnection, *, read_only: bool = False
) -> async_sessionmaker[AsyncSession]:
    """Build the session factory: `expire_on_commit=False`, so DTOs read after a commit work.

    Args:
        bind: The app's engine; or a connection inside a transaction, which every
            session then joins: a session's commit releases a SAVEPOINT and its
            rollback returns to it, and nothing is written until the
            connection's own transaction commits. `bastion.testing` binds the
            app to such a connection and rolls it back after each test.
        read_only: For transactions that only read (safe HTTP methods): on
            SQLite they begin DEFERRED, so they neither wait for nor hold the
            write lock. They may still write, but a read followed by a write
            can then fail with 503 `DATABASE_UNAVAILABLE` while another
            transaction writes. No effect on PostgreSQL, nor on a connection
            (its transaction has begun).
    """
    if isinstance(bind, AsyncConnection):
        return async_sessionmaker(
            bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
    engine = bind.execution_options(**{_READ_ONLY: True}) if read_only else bind
    return async_sessionmaker(engine, expire_on_commit=False)


def database_ready_check(engine: AsyncEngine) -> Callable[[], Awaitable[bool | None]]:
    """Return a `/ready` check that runs `SELECT 1` on a pooled connection.

    The statement runs outside a transaction, so on SQLite it never waits for
    the write lock: a busy writer does not make the app look unready.
    """

    async def check() -> bool:
        with translate_errors():
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("SELECT 1"))
        return True

    return check
