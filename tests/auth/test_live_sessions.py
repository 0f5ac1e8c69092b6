"""The live-session check: one read on the request's own connection, revocations seen at once.

Two apps on one database stand for two workers (or hosts): whatever one of them
revokes, the other refuses from the very next request.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

import aiosqlite
import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import event, select
from sqlalchemy.engine import AdaptedConnection, Connection

from bastion import create_app
from bastion.auth import Auth, CurrentUser
from bastion.core import BastionSettings
from bastion.db import UnitOfWork
from bastion.web import Uow
from tests.auth.conftest import (
    PASSWORD,
    Clock,
    RecordingHooks,
    bearer,
    create_tables,
    fast_settings,
    register,
    tokens,
)
from tests.auth.models import MODELS, User
from tests.conftest import serve

AUTH = "/api/v1/auth"


def _routes() -> APIRouter:
    router = APIRouter()

    @router.get("/mine")
    async def mine(uow: Uow, user: CurrentUser) -> dict[str, int]:
        rows = (await uow.session.execute(select(User.id).where(User.id == user.id))).all()
        return {"rows": len(rows)}

    @router.post("/mine")
    async def touch(uow: Uow, user: CurrentUser) -> dict[str, int]:
        rows = (await uow.session.execute(select(User.id).where(User.id == user.id))).all()
        return {"rows": len(rows)}

    @router.get("/whoami")
    async def whoami(user: CurrentUser) -> dict[str, str]:
        return {"id": str(user.id)}

    return router


def _app(settings: BastionSettings, clock: Clock) -> FastAPI:
    auth = Auth(**MODELS, hooks=RecordingHooks(), clock=clock)
    return create_app(
        fast_settings(settings), routers=[auth.router, _routes()], lifespan=create_tables
    )


@asynccontextmanager
async def _two_workers(
    db_settings: BastionSettings,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient]]:
    """Two apps on one database (two workers); yields the first app and a client of each."""
    clock = Clock()
    first, second = _app(db_settings, clock), _app(db_settings, clock)
    async with AsyncExitStack() as stack:
        one = await stack.enter_async_context(serve(first))
        two = await stack.enter_async_context(serve(second))
        yield first, one, two


async def _logout(app: FastAPI, client: httpx.AsyncClient, pair: dict[str, str]) -> None:
    response = await client.post(f"{AUTH}/logout", json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 204


async def _change_password(app: FastAPI, client: httpx.AsyncClient, pair: dict[str, str]) -> None:
    # From another session of the same user: the password change revokes every other one.
    other = await tokens(client)
    response = await client.post(
        f"{AUTH}/password",
        json={"current_password": PASSWORD, "new_password": "a whole new passphrase, long"},
        headers=bearer(other["access_token"]),
    )
    assert response.status_code == 204


async def _reuse_refresh_token(
    app: FastAPI, client: httpx.AsyncClient, pair: dict[str, str]
) -> None:
    body = {"refresh_token": pair["refresh_token"]}
    assert (await client.post(f"{AUTH}/refresh", json=body)).status_code == 200
    assert (await client.post(f"{AUTH}/refresh", json=body)).status_code == 401


async def _deactivate(app: FastAPI, client: httpx.AsyncClient, pair: dict[str, str]) -> None:
    resources = app.state.resources
    me = await client.get(f"{AUTH}/me", headers=bearer(pair["access_token"]))
    async with UnitOfWork(resources.sessionmaker) as uow:
        service = resources.auth.accounts(uow, resources.limiter)
        await service.set_active(uuid.UUID(me.json()["id"]), active=False)


Revocation = Callable[[FastAPI, httpx.AsyncClient, dict[str, str]], object]


@pytest.mark.parametrize(
    "revoke",
    [
        pytest.param(_logout, id="logout"),
        pytest.param(_change_password, id="password-change"),
        pytest.param(_reuse_refresh_token, id="refresh-reuse"),
        pytest.param(_deactivate, id="deactivation"),
    ],
)
async def test_a_revocation_on_one_worker_stops_the_access_token_on_another_at_once(
    db_settings: BastionSettings, revoke: Revocation
) -> None:
    async with _two_workers(db_settings) as (first_app, first, second):
        await register(first)
        pair = await tokens(first)
        headers = bearer(pair["access_token"])
        assert (await second.get("/api/v1/mine", headers=headers)).status_code == 200
        await revoke(first_app, first, pair)  # type: ignore[misc]  # each returns a coroutine
        for path in ("/api/v1/mine", "/api/v1/whoami", f"{AUTH}/me"):
            refused = await second.get(path, headers=headers)
            assert refused.status_code == 401, path
            assert refused.json()["error"]["code"] == "INVALID_TOKEN"


async def test_a_role_granted_on_one_worker_counts_on_another_at_once(
    db_settings: BastionSettings,
) -> None:
    async with _two_workers(db_settings) as (first_app, first, second):
        await register(first)
        headers = bearer((await tokens(first))["access_token"])
        resources = first_app.state.resources
        async with UnitOfWork(resources.sessionmaker) as uow:
            service = resources.auth.accounts(uow, resources.limiter)
            await service.grant_role("ada@example.com", "admin")
        me = await second.get(f"{AUTH}/me", headers=headers)
        assert me.json()["roles"] == ["admin"]


class _Statements:
    """Counts pool checkouts, and the statements each driver connection runs.

    The check goes to the driver beneath SQLAlchemy, so statements are counted
    where the driver runs them: SQLite's trace callback sees every statement;
    asyncpg's query logger sees those it runs by their text (the check, BEGIN,
    COMMIT), and SQLAlchemy's own event the statements it prepares.
    """

    def __init__(self, app: FastAPI) -> None:
        """Listen on the app's engine."""
        self.checkouts = 0
        self.connections: set[int] = set()
        self.statements = 0
        self.autocommit = False
        self._watched: set[int] = set()
        engine = app.state.resources.engine.sync_engine
        event.listen(engine, "checkout", self._checkout)
        event.listen(engine, "before_cursor_execute", self._execute)

    def _checkout(self, dbapi_connection: AdaptedConnection, *_: object) -> None:
        self.checkouts += 1
        driver = dbapi_connection.driver_connection
        if id(driver) in self._watched:
            return
        self._watched.add(id(driver))
        ran = partial(self._ran, id(driver))
        if isinstance(driver, aiosqlite.Connection):
            dbapi_connection.run_async(lambda connection: connection.set_trace_callback(ran))
        else:
            driver.add_query_logger(lambda query: ran(query.query))

    def _ran(self, connection: int, statement: str) -> None:
        if statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            return
        self.statements += 1
        self.connections.add(connection)

    def _execute(self, connection: Connection, _cursor: object, statement: str, *_: object) -> None:
        options = connection.get_execution_options()
        self.autocommit |= options.get("isolation_level") == "AUTOCOMMIT"
        if connection.dialect.driver == "asyncpg":  # prepared: unseen by the query logger
            self._ran(id(connection.connection.driver_connection), statement)

    def take(self) -> tuple[int, int, int, bool]:
        """Checkouts, statements, distinct connections and any autocommit since the last take."""
        taken = (self.checkouts, self.statements, len(self.connections), self.autocommit)
        self.checkouts, self.statements, self.autocommit = 0, 0, False
        self.connections = set()
        return taken


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_the_check_is_one_statement_on_the_requests_own_connection(
    db_settings: BastionSettings, method: str
) -> None:
    app = _app(db_settings, Clock())
    async with serve(app) as client:
        await register(client)
        headers = bearer((await tokens(client))["access_token"])
        stats = _Statements(app)
        for _ in range(3):
            response = await client.request(method, "/api/v1/mine", headers=headers)
            assert response.json() == {"rows": 1}
            # One checkout; the check and the route's own read on that one connection,
            # with no switch to autocommit.
            assert stats.take() == (1, 2, 1, False)


async def test_a_stateless_route_that_never_uses_its_unit_of_work_opens_no_connection(
    db_settings: BastionSettings,
) -> None:
    settings = db_settings.model_copy(update={"auth_stateless_tokens": True})
    app = _app(settings, Clock())
    async with serve(app) as client:
        await register(client)
        headers = bearer((await tokens(client))["access_token"])
        stats = _Statements(app)
        assert (await client.get("/api/v1/whoami", headers=headers)).status_code == 200
        assert stats.take() == (0, 0, 0, False)
