"""`OutboxRelay`: claims due outbox rows, dispatches them, and delivers each to its handler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bastion.db import UnitOfWork, utcnow
from bastion.jobs._context import JobContext
from bastion.jobs._models import OutboxMixin, OutboxState
from bastion.jobs._registry import Jobs

if TYPE_CHECKING:
    from bastion._resources import Resources

__all__ = ["Dispatch", "OutboxRelay"]

logger = logging.getLogger("bastion.jobs")

#: Sends one claimed row on its way: `(row id, handler runs so far)`.
Dispatch = Callable[[uuid.UUID, int], Awaitable[None]]

# An outage is logged at most this often (seconds), not once per poll.
_LOG_EVERY = 30.0
# Rows sent at once by one relay (each dispatch is a few Redis round trips).
_DISPATCHES_AT_ONCE = 32
# The longest error text kept on a row.
_ERROR_CHARS = 500


class OutboxRelay:
    """Moves outbox rows to their handlers, at least once each.

    `claim` takes due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
    relays share the outbox without taking one row twice; SQLite's write lock
    lets one claim at a time) and leases them: a row not delivered within
    `JobsConfig.lease` is due again, so a crash between the commit that wrote
    it and its delivery only delays it. `deliver` runs the row's handler in the
    handler's own unit of work and marks the row delivered in that same
    transaction; a row already delivered is skipped, which makes a second
    dispatch of the same row harmless. A handler that raises is retried with
    exponential backoff and dead-lettered after `JobsConfig.max_attempts` runs.

    Args:
        jobs: The app's handlers and outbox model.
        resources: The app's resources (the session factory, for handlers too).
    """

    def __init__(self, jobs: Jobs, resources: Resources) -> None:
        """Create a relay over the app's database."""
        if resources.sessionmaker is None:
            raise RuntimeError("the outbox relay needs the app's database")
        self.jobs = jobs
        self.resources = resources
        self._sessionmaker: async_sessionmaker[AsyncSession] = resources.sessionmaker
        self._last_log = -_LOG_EVERY
        # Built once: the relay runs them every poll.
        model = jobs.model
        self._due = (
            select(model.id, model.attempts)
            .where(model.state == OutboxState.PENDING, model.available_at <= bindparam("now"))
            .order_by(model.available_at)
            .limit(jobs.config.batch_size)
            .with_for_update(skip_locked=True)
        )
        self._lease = (
            update(model)
            .where(model.id.in_(bindparam("ids", expanding=True)))
            .values(available_at=bindparam("until"))
        )

    @property
    def model(self) -> type[OutboxMixin]:
        """The outbox model."""
        return self.jobs.model

    async def claim(self) -> list[tuple[uuid.UUID, int]]:
        """Lease the due rows (up to the batch size): `(row id, handler runs so far)` each."""
        now = utcnow()
        async with UnitOfWork(self._sessionmaker) as uow:
            claimed = (await uow.session.execute(self._due, {"now": now})).all()
            if claimed:
                await uow.session.execute(
                    self._lease,
                    {
                        "ids": [row_id for row_id, _ in claimed],
                        "until": now + timedelta(seconds=self.jobs.config.lease),
                    },
                )
        return [(row_id, attempts) for row_id, attempts in claimed]

    async def run_once(self, dispatch: Dispatch) -> int:
        """Claim due rows and dispatch them concurrently; returns how many were claimed.

        A row whose dispatch fails (Redis down) stays leased and is dispatched
        again when its lease ends; the outage is logged, not raised.
        """
        claimed = await self.claim()
        limit = asyncio.Semaphore(_DISPATCHES_AT_ONCE)

        async def send(row_id: uuid.UUID, attempts: int) -> Exception | None:
            async with limit:
                try:
                    await dispatch(row_id, attempts)
                except Exception as exc:  # the row waits for its lease
                    return exc
                return None

        failures = [
            exc for exc in await asyncio.gather(*(send(*row) for row in claimed)) if exc is not None
        ]
        if failures:
            self._log_outage(f"dispatching {len(failures)} outbox row(s) failed", failures[0])
        return len(claimed)

    async def run(
        self,
        dispatch: Dispatch,
        *,
        wake: asyncio.Event | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Dispatch due rows until `stop` is set (or until cancelled).

        Between two looks it waits the poll interval, or less when `wake` is
        set. Setting `stop` ends the loop after the batch in hand, so rows being
        delivered finish their transactions.
        """
        config = self.jobs.config
        wake = wake or asyncio.Event()
        task = asyncio.current_task()
        while stop is None or not stop.is_set():
            try:
                claimed = await self.run_once(dispatch)
            except Exception as exc:  # the database is down: wait and look again
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from exc  # a timeout below took the cancel's place
                self._log_outage("reading the outbox failed", exc)
                claimed = 0
            if claimed >= config.batch_size:
                continue
            # `asyncio.timeout`, not `wait_for`: on Python 3.11 a cancellation arriving as
            # `wait_for` times out can be lost, and the relay would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(config.poll_interval):
                    await wake.wait()
            wake.clear()

    async def deliver(self, row_id: uuid.UUID) -> bool:
        """Run the handler of one row; True when this call delivered it.

        The handler runs in a unit of work that also marks the row delivered,
        under a lock on the row: its database work and the mark commit together.
        A row that is missing, delivered or dead is left alone (False). When the
        handler raises or the commit fails, that transaction is rolled back and
        the failed run is recorded in another: the row is retried after a
        backoff, or dead-lettered. When that fails too (the database is down),
        the row is left as it was, and dispatched again when its lease ends.
        """
        try:
            return await self._run_handler(row_id)
        except Exception as exc:  # the handler's run failed: record it
            try:
                async with UnitOfWork(self._sessionmaker) as uow:
                    row = await uow.session.get(self.model, row_id, with_for_update=True)
                    if row is not None and row.state == OutboxState.PENDING:
                        row.attempts += 1
                        self._failed(row, exc, final=isinstance(exc, _NoHandlerError))
            except Exception as outage:  # the database is down: the row waits for its lease
                self._log_outage("recording a failed delivery failed", outage)
            return False

    async def _run_handler(self, row_id: uuid.UUID) -> bool:
        async with UnitOfWork(self._sessionmaker, jobs=self.jobs) as uow:
            row = await uow.session.get(self.model, row_id, with_for_update=True)
            if row is None or row.state != OutboxState.PENDING:
                return False
            entry = self.jobs.handler(row.name)
            if entry is None:
                raise _NoHandlerError(f"no handler named {row.name!r} is registered")
            row.attempts += 1
            payload = entry.payload.model_validate(row.payload)
            await entry.function(payload, JobContext(uow, row.id, row.attempts, self.resources))
            row.state = OutboxState.DELIVERED
            row.finished_at = utcnow()
        return True

    def _failed(self, row: OutboxMixin, exc: Exception, *, final: bool = False) -> None:
        """Record a failed run: retry after a backoff, or dead-letter."""
        config = self.jobs.config
        row.last_error = f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS]
        if final or row.attempts >= config.max_attempts:
            row.state = OutboxState.DEAD
            row.finished_at = utcnow()
            logger.error(
                "outbox row %s (%s) dead-lettered after %d attempt(s): %s",
                row.id,
                row.name,
                row.attempts,
                type(exc).__name__,
            )
            return
        delay = config.backoff(row.attempts)
        row.available_at = utcnow() + timedelta(seconds=delay)
        logger.warning(
            "outbox row %s (%s) failed on attempt %d (%s); retrying in %.0f s",
            row.id,
            row.name,
            row.attempts,
            type(exc).__name__,
            delay,
        )

    def _log_outage(self, what: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_log >= _LOG_EVERY:
            self._last_log = now
            logger.warning("%s (%s); rows wait in the outbox", what, _reason(exc))


def _reason(exc: Exception) -> str:
    """The error's type and its driver's first line (`no such table: outbox`), if any.

    Only the driver's first line, which names what failed (a table, a refused
    connection): SQLAlchemy's own message adds the statement and its parameters.
    """
    error = exc if isinstance(exc, DBAPIError) else exc.__cause__
    said = str(error.orig).strip() if isinstance(error, DBAPIError) else ""
    return f"{type(exc).__name__}: {said.splitlines()[0]}" if said else type(exc).__name__


class _NoHandlerError(LookupError):
    """A row names a handler this app does not register: retrying cannot help."""
