"""Auth fixtures: an app with the auth router on SQLite and PostgreSQL, a movable clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import SecretStr

from bastion import create_app
from bastion.auth import (
    Auth,
    AuthHooks,
    CurrentUser,
    RequestMeta,
    UserOut,
    require_roles,
    require_scopes,
)
from bastion.core import BastionSettings
from bastion.web import Resources
from tests.auth.models import MODELS, AuthTestBase
from tests.conftest import serve
from tests.db.conftest import db_settings  # noqa: F401  # the parametrized database fixture

PASSWORD = "correct horse battery staple"


class Clock:
    """A clock the test moves by hand; it starts at the real time."""

    def __init__(self) -> None:
        """Start at a fixed, recent time."""
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        """The current test time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@dataclass
class RecordingHooks(AuthHooks):
    """Hooks that record every event they see; an event named in `failing` raises its error."""

    events: list[tuple[str, object]] = field(default_factory=list)
    failing: dict[str, Exception] = field(default_factory=dict)

    def _record(self, name: str, value: object) -> None:
        self.events.append((name, value))
        error = self.failing.get(name)
        if error is not None:
            raise error

    async def after_register(self, user: UserOut) -> None:
        """Record it."""
        self._record("register", user.email)

    async def after_login(self, user: UserOut, meta: RequestMeta) -> None:
        """Record it."""
        self._record("login", user.email)

    async def after_failed_login(self, email: str, meta: RequestMeta) -> None:
        """Record it."""
        self._record("failed_login", email)

    async def after_logout(self, user_id: uuid.UUID, family_id: uuid.UUID) -> None:
        """Record it."""
        self._record("logout", user_id)

    async def after_password_change(self, user: UserOut) -> None:
        """Record it."""
        self._record("password_change", user.email)

    async def after_mfa_change(self, user: UserOut, *, enabled: bool) -> None:
        """Record it."""
        self._record("mfa_change", enabled)

    async def after_token_reuse(
        self, user_id: uuid.UUID, family_id: uuid.UUID, meta: RequestMeta
    ) -> None:
        """Record it."""
        self._record("token_reuse", family_id)

    async def access_claims(self, user: UserOut) -> dict[str, object]:
        """Grant a scope to everyone."""
        return {"scope": "notes:read"}

    def names(self) -> list[str]:
        """The event names, in order."""
        return [name for name, _ in self.events]


def protected_router() -> APIRouter:
    """Routes guarded by the auth dependencies."""
    router = APIRouter()

    @router.get("/private")
    async def private(user: CurrentUser) -> dict[str, str]:
        return {"user": str(user.id)}

    @router.post("/private")
    async def private_write(user: CurrentUser) -> dict[str, str]:
        return {"user": str(user.id)}

    @router.get("/admin-only", dependencies=[require_roles("admin")])
    async def admin_only() -> dict[str, bool]:
        return {"ok": True}

    @router.get("/scoped", dependencies=[require_scopes("notes:read")])
    async def scoped() -> dict[str, bool]:
        return {"ok": True}

    @router.get("/over-scoped", dependencies=[require_scopes("notes:write")])
    async def over_scoped() -> dict[str, bool]:
        return {"ok": True}

    return router


def fast_settings(base: BastionSettings, **changes: object) -> BastionSettings:
    """Cheap argon2 parameters (tests hash hundreds of passwords), no global limit."""
    update: dict[str, object] = {
        "password_hash_time_cost": 1,
        "password_hash_memory_cost": 8,
        "password_hash_parallelism": 1,
        "ratelimit_default": None,
        "docs_enabled": True,
        "ratelimit_key_prefix": f"t{uuid.uuid4().hex[:8]}",
    }
    update.update(changes)
    for name in ("database_url", "redis_url", "ratelimit_storage_url"):
        if isinstance(update.get(name), str):  # `model_copy` does not validate: give the type
            update[name] = SecretStr(str(update[name]))
    return base.model_copy(update=update)


@asynccontextmanager
async def create_tables(app: FastAPI, resources: Resources) -> AsyncIterator[None]:
    """Host lifespan: create the auth tables on the test database."""
    assert resources.engine is not None
    async with resources.engine.begin() as connection:
        await connection.run_sync(AuthTestBase.metadata.create_all)
    yield


@dataclass
class AuthApp:
    """An auth app under test with its clock and hooks."""

    app: FastAPI
    clock: Clock
    hooks: RecordingHooks
    settings: BastionSettings


AppFactory = Callable[..., AuthApp]


@pytest.fixture
def clock() -> Clock:
    """The app's clock."""
    return Clock()


@pytest.fixture
def make_app(db_settings: BastionSettings, clock: Clock) -> AppFactory:  # noqa: F811
    """Build an auth app on the parametrized database with settings changes."""

    def build(**changes: object) -> AuthApp:
        settings = fast_settings(db_settings, **changes)
        hooks = RecordingHooks()
        auth = Auth(**MODELS, hooks=hooks, clock=clock)
        app = create_app(
            settings,
            routers=[auth.router, protected_router()],
            lifespan=create_tables,
        )
        return AuthApp(app=app, clock=clock, hooks=hooks, settings=settings)

    return build


@pytest.fixture
async def auth(make_app: AppFactory) -> AsyncIterator[tuple[AuthApp, httpx.AsyncClient]]:
    """The default auth app (Bearer mode, live sessions) and a client."""
    built = make_app()
    async with serve(built.app) as client:
        yield built, client


async def register(client: httpx.AsyncClient, email: str = "ada@example.com") -> dict[str, object]:
    """Register a user; return the body."""
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def login(
    client: httpx.AsyncClient, email: str = "ada@example.com", password: str = PASSWORD
) -> httpx.Response:
    """Post the OAuth2 password form."""
    return await client.post("/api/v1/auth/login", data={"username": email, "password": password})


async def tokens(client: httpx.AsyncClient, email: str = "ada@example.com") -> dict[str, str]:
    """Log in and return the token pair."""
    response = await login(client, email)
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def serve_https(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Like `serve`, over https:// so Secure cookies round-trip."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            yield client
