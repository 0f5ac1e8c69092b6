"""`TracedRedis`: a redis-py asyncio client whose commands are child spans of a traced request."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from redis.asyncio import Redis

__all__ = ["TracedRedis"]


class TracedRedis(Redis):
    """A `redis.asyncio.Redis` tracing each command sent inside a recording span.

    Each command is a CLIENT span named by the command (`GET`, `EVALSHA`),
    with the database semantic-convention attributes; arguments (keys and
    values) are never recorded. Commands sent outside a traced request are
    not traced. `tracer` None (the class default) traces nothing.
    """

    tracer: Tracer | None = None

    async def execute_command(self, *args: object, **options: object) -> object:
        """Send one command, inside a span when the current one records."""
        tracer = self.tracer
        if tracer is None or not args or not trace.get_current_span().is_recording():
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]  # untyped upstream
        command = str(args[0]).upper()
        attributes = {"db.system.name": "redis", "db.operation.name": command}
        with tracer.start_as_current_span(
            command, kind=SpanKind.CLIENT, attributes=attributes, record_exception=False
        ) as span:
            try:
                return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]  # untyped upstream
            except Exception as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise
