"""`UnitOfWork`: one session and one transaction, committed before the response is sent."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.core import lift_deadline
from bastion.db._errors import translate_errors

if TYPE_CHECKING:
    from pydantic import BaseModel

    from bastion.jobs import Event, Jobs

__all__ = ["UnitOfWork"]

_log = logging.getLogger("bastion.db")


class UnitOfWork:
    """A transaction over one `AsyncSession`, shared by the repositories of a request.

    ```python
    async with UnitOfWork(sessionmaker) as uow:
        await NoteRepository(uow.session).add(...)
    # committed here; rolled back instead if the block raised
    ```

    In an app, inject it with `Uow`: the dependency exits (and commits) after
    the endpoint returns but before the response is sent, so a failed commit
    becomes an error response and never a lost write behind a 201.

    The session opens on first use of `session`: a unit of work nobody uses
    costs no connection and commits nothing.
    """

    def __init__(
        self,
        sessionmaker: Callable[[], AsyncSession],
        *,
        conflict_codes: Mapping[str, str] | None = None,
        metadata: MetaData | None = None,
        jobs: Jobs | None = None,
    ) -> None:
        """Prepare a unit of work; enter it with `async with`.

        Args:
            sessionmaker: The app's session factory (`resources.sessionmaker`), called
                when the session is first used.
            conflict_codes: Constraint name to error code, for errors raised at commit.
            metadata: Used to name SQLite constraints in errors (default: `Base.metadata`).
            jobs: The app's jobs, for `record` and `enqueue` (`resources.jobs`).
        """
        self._sessionmaker = sessionmaker
        self._codes = dict(conflict_codes or {})
        self._metadata = metadata
        self._session: AsyncSession | None = None
        self._open = False
        self._after_commit: list[Callable[[], None]] = []
        self._jobs = jobs
        self._asked = False

    @property
    def sessionmaker(self) -> Callable[[], AsyncSession]:
        """The session factory this unit of work opens its session from."""
        return self._sessionmaker

    @property
    def session(self) -> AsyncSession:
        """The session, opened on first use.

        Raises:
            RuntimeError: The unit of work has not been entered.
        """
        session = self._session
        if session is None:
            if not self._open:
                raise RuntimeError("the UnitOfWork is not open: use `async with`")
            session = self._session = self._sessionmaker()
        return session

    async def __aenter__(self) -> Self:
        """Enter the unit of work (its session opens when first used)."""
        if self._open:
            raise RuntimeError("the UnitOfWork is already open")
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Commit if the block succeeded, roll back if it raised; close the session."""
        try:
            if exc_type is None:
                await self.commit()
            else:
                await self.rollback()
        finally:
            session, self._session = self._session, None
            self._open = False
            self._after_commit.clear()
            if session is not None:
                await session.close()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction under way commits; drop it if it rolls back.

        For what must not be claimed before the write stands, such as an audit
        line saying "registered": a rolled-back request never runs it. The
        callbacks run in order, right after the next successful `commit` (the
        explicit one of a service, or the unit of work's own at its end). A
        callback that raises is logged and does not undo or fail the commit.
        """
        self._after_commit.append(callback)

    async def flush(self) -> None:
        """Send pending ORM changes to the database (constraint errors surface here)."""
        with translate_errors(codes=self._codes, metadata=self._metadata):
            await self.session.flush()

    async def commit(self) -> None:
        """Commit the transaction; driver errors become bastion errors.

        A failed commit is rolled back before the error propagates. Work may go
        on after a commit: the next statement begins a new transaction.

        The request's timeout never lands inside the commit: once it starts,
        the request's deadline is lifted and the request runs to its end (see
        `bastion.core.lift_deadline`); a request whose deadline passed before
        is cancelled here instead, with nothing written.
        """
        lift_deadline()
        session = self._session
        if session is not None:
            try:
                with translate_errors(codes=self._codes, metadata=self._metadata):
                    await session.commit()
            except BaseException:
                await self.rollback()
                raise
        if self._asked and self._jobs is not None:
            self._asked = False
            self._jobs.notify_committed()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                # The write stands: a failing follower must not turn it into an error.
                _log.exception("an after-commit callback failed")

    async def rollback(self) -> None:
        """Roll back everything since the last commit, and drop pending `after_commit` callbacks."""
        self._asked = False
        self._after_commit.clear()
        if self._session is not None:
            await self._session.rollback()

    def record(self, event: Event) -> None:
        """Record a domain event: its handlers run after this transaction commits.

        One outbox row per handler joins the transaction (one `INSERT` at the
        commit); a rollback drops them with everything else.

        Raises:
            RuntimeError: The app has no jobs (`create_app(..., jobs=...)`).
        """
        self.session.add_all(self._jobs_or_raise().event_rows(event))
        self._asked = True

    def enqueue(self, job: Callable[..., Awaitable[None]], arguments: BaseModel) -> None:
        """Ask for a run of a registered job once this transaction commits.

        Raises:
            RuntimeError: The app has no jobs (`create_app(..., jobs=...)`).
            LookupError: `job` is not registered.
        """
        self.session.add(self._jobs_or_raise().job_row(job, arguments))
        self._asked = True

    def _jobs_or_raise(self) -> Jobs:
        if self._jobs is None:
            raise RuntimeError("events and jobs need `create_app(..., jobs=Jobs(...))`")
        return self._jobs

    @asynccontextmanager
    async def nested(self) -> AsyncIterator[None]:
        """Run the block in a SAVEPOINT: an error inside rolls back only the block.

        The error still propagates (translated), so the caller decides whether
        the outer transaction goes on.
        """
        with translate_errors(codes=self._codes, metadata=self._metadata):
            async with self.session.begin_nested():
                yield
