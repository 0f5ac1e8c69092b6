"""Child spans for the SQL statements a traced request runs (SQLAlchemy's engine events)."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from sqlalchemy import event
from sqlalchemy.engine import Connection, ExceptionContext
from sqlalchemy.engine.interfaces import DBAPICursor, ExecutionContext
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["trace_engine"]

# Where a statement's span waits for the statement to finish: statements on one
# connection run one after another, so one slot per connection is enough.
_SPAN_KEY = "bastion.span"


def _operation(statement: str) -> str:
    """The statement's leading keyword (`SELECT`, `INSERT`, ...)."""
    head = statement.lstrip().split(None, 1)
    return head[0].upper() if head else "SQL"


def trace_engine(engine: AsyncEngine, tracer: Tracer) -> None:
    """Trace every statement `engine` runs inside a recording span as a child span.

    The span is a CLIENT span named by the statement's operation, with the
    database semantic-convention attributes; the statement's text is the
    parametrized SQL, never the bound values. Statements run outside a traced
    request (start-up, migrations) are not traced.
    """
    url = engine.url
    base: dict[str, str | int] = {"db.system.name": engine.dialect.name}
    if url.database:
        base["db.namespace"] = url.database
    if url.host:
        base["server.address"] = url.host
    if url.port:
        base["server.port"] = url.port

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _start(
        conn: Connection,
        _cursor: DBAPICursor,
        statement: str,
        _parameters: object,
        _context: ExecutionContext | None,
        _executemany: bool,
    ) -> None:
        if not trace.get_current_span().is_recording():
            return
        operation = _operation(statement)
        attributes = {**base, "db.operation.name": operation, "db.query.text": statement}
        conn.info[_SPAN_KEY] = tracer.start_span(
            operation, kind=SpanKind.CLIENT, attributes=attributes
        )

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _end(conn: Connection, *_args: object) -> None:
        span: Span | None = conn.info.pop(_SPAN_KEY, None)
        if span is not None:
            span.end()

    @event.listens_for(engine.sync_engine, "handle_error")
    def _fail(context: ExceptionContext) -> None:
        conn = context.connection
        span: Span | None = None if conn is None else conn.info.pop(_SPAN_KEY, None)
        if span is not None:
            error = context.original_exception
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()
