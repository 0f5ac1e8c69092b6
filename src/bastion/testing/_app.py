"""A host app run inside its lifespan, every unit of work joined to one rolled-back transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from bastion._resources import Resources, app_resources
from bastion.db import UnitOfWork, create_sessionmaker
from bastion.security import Clock

if TYPE_CHECKING:  # imported where a client is made: not a dependency of bastion itself
    import httpx

__all__ = ["AppFactory", "TestApp", "UowFactory", "running_app"]

#: Builds the host's app from settings (`create_notes_app`, or a lambda around `create_app`).
AppFactory = Callable[..., FastAPI]
#: Opens a unit of work in the test's transaction (the `bastion_uow` fixture).
UowFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


class _OneAtATime:
    """Serve one request at a time: every unit of work shares the test's one connection.

    Two sessions interleaving statements on one connection would interleave
    their SAVEPOINTs too; queued, concurrent requests in a test still all run.
    """

    def __init__(self, app: ASGIApp, lock: anyio.Lock) -> None:
        self._app = app
        self._lock = lock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        async with self._lock:
            await self._app(scope, receive, send)


@dataclass(frozen=True, slots=True)
class TestApp:
    """The app under test, running, with what the other fixtures reach it through.

    Attributes:
        app: The FastAPI app, inside its lifespan.
        resources: Its resources (sessions bound to the test's transaction).
        lock: Held by each request and each `uow()` block.
    """

    __test__ = False  # a fixture's value, not a test class to collect

    app: FastAPI
    resources: Resources
    lock: anyio.Lock

    def client(self, *, https: bool = False) -> httpx.AsyncClient:
        """A new client of the app over ASGI (close it, or use it in `async with`).

        Raises:
            ModuleNotFoundError: httpx is not installed (`pip install 'bastion[testing]'`).
        """
        try:
            import httpx
        except ImportError as exc:
            raise ModuleNotFoundError(
                "bastion's test clients need httpx: pip install 'bastion[testing]'", name="httpx"
            ) from exc
        transport = httpx.ASGITransport(app=_OneAtATime(self.app, self.lock))
        scheme = "https" if https else "http"
        return httpx.AsyncClient(transport=transport, base_url=f"{scheme}://testserver")

    def uow(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work in the test's transaction, as a request gets one."""
        return self._uow()

    @asynccontextmanager
    async def _uow(self) -> AsyncIterator[UnitOfWork]:
        sessionmaker = self.resources.sessionmaker
        if sessionmaker is None:
            raise RuntimeError("the app under test has no database")
        async with self.lock, UnitOfWork(sessionmaker) as uow:
            yield uow


def _on_clock(resources: Resources, clock: Clock) -> None:
    if resources.auth is not None:
        resources.auth = resources.auth.with_clock(clock, resources.settings)


@asynccontextmanager
async def running_app(app: FastAPI, *, clock: Clock) -> AsyncIterator[TestApp]:
    """Run `app`'s lifespan with its units of work inside one transaction, rolled back at the end.

    The app's session factories are rebound to one connection whose transaction
    never commits: a unit of work's commit releases a SAVEPOINT, so the test
    sees every write and the next test none. The auth feature reads `clock`.
    An app without a database runs as it is.

    Raises:
        RuntimeError: `app` is not a bastion app (its lifespan built no `Resources`).
    """
    async with app.router.lifespan_context(app):
        resources = app_resources(app)
        if resources is None:
            raise RuntimeError("the app under test is not built by bastion's create_app")
        _on_clock(resources, clock)
        running = TestApp(app=app, resources=resources, lock=anyio.Lock())
        if resources.engine is None:
            yield running
            return
        async with resources.engine.connect() as connection:
            transaction = await connection.begin()
            sessions = create_sessionmaker(connection)
            resources.sessionmaker = resources.read_sessionmaker = sessions
            try:
                yield running
            finally:
                if transaction.is_active:
                    await transaction.rollback()
