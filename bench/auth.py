"""The auth feature's costs, in the in-process ASGI benchmark (no sockets).

1. Authenticated request overhead: the same route with and without `CurrentUser`, with
   stateless tokens, and with the default per-request session check on SQLite and (when
   `BASTION_TEST_DATABASE_URL` names one) PostgreSQL, in a schema of its own, dropped after.
2. Login never stalls the loop: `/health` p99 latency idle, then while 20 logins run at once
   (argon2id at the configured, default-sized parameters), and the login throughput.

Figures are best-of-5 means (part 1) and p99 over many sequential probes (part 2); compare
ratios within one run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import tempfile
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import APIRouter, FastAPI
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool

from bastion import BastionSettings, create_app
from bastion.auth import (
    AuthConfig,
    AuthModels,
    CurrentUser,
    MfaChallengeMixin,
    RecoveryCodeMixin,
    RefreshSessionMixin,
    UserMixin,
    auth_router,
)
from bastion.db import NAMING_CONVENTION
from bench._asgi import call, http_scope, lifespan, measure

REQUESTS = 3000
PASSWORD = "correct horse battery staple"  # noqa: S105 - a benchmark account
SECRET = "benchmark-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - benchmark only
LOGINS = 20
HEALTH_PROBES = 400


class _Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class _User(UserMixin, _Base):
    __tablename__ = "users"


class _Session(RefreshSessionMixin, _Base):
    __tablename__ = "auth_sessions"


class _Code(RecoveryCodeMixin, _Base):
    __tablename__ = "auth_recovery_codes"


class _Challenge(MfaChallengeMixin, _Base):
    __tablename__ = "auth_mfa_challenges"


MODELS = AuthModels(user=_User, session=_Session, recovery_code=_Code, mfa_challenge=_Challenge)


def _routes() -> APIRouter:
    router = APIRouter()

    @router.get("/open")
    async def open_route() -> dict[str, str]:
        return {"hello": "world"}

    @router.get("/protected")
    async def protected(user: CurrentUser) -> dict[str, str]:
        return {"hello": str(user.id)}

    return router


@asynccontextmanager
async def _tables(app: FastAPI, resources: object) -> AsyncIterator[None]:
    engine = getattr(resources, "engine", None)
    assert engine is not None
    async with engine.begin() as connection:
        await connection.run_sync(_Base.metadata.create_all)
    yield


def _app(settings: BastionSettings) -> FastAPI:
    return create_app(
        settings,
        routers=[auth_router(AuthConfig(models=MODELS)), _routes()],
        lifespan=_tables,
    )


def _settings(database_url: str, **changes: object) -> BastionSettings:
    base = BastionSettings(
        environment="test",
        secret_key=SECRET,
        configure_logging=False,
        database_url=database_url,
        ratelimit_default=None,
    )
    return base.model_copy(update=changes)


async def _access_token(app: FastAPI, email: str) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        response = await client.post(
            "/api/v1/auth/login", data={"username": email, "password": PASSWORD}
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token


async def _overhead(label: str, settings: BastionSettings) -> None:
    app = _app(settings)
    context = await lifespan(app)
    try:
        token = await _access_token(app, f"bench-{secrets.token_hex(4)}@example.com")
        auth = [(b"authorization", f"Bearer {token}".encode())]
        open_us = await measure(app, http_scope("GET", "/api/v1/open"), requests=REQUESTS)
        protected = http_scope("GET", "/api/v1/protected", headers=auth)
        protected_us = await measure(app, protected, requests=REQUESTS)
        print(f"{label:34} {open_us:9.1f} {protected_us:12.1f} {protected_us - open_us:+10.1f}")
    finally:
        await context.__aexit__(None, None, None)


@asynccontextmanager
async def _postgres_schema(url: str) -> AsyncIterator[str]:
    schema = f"bench_auth_{secrets.token_hex(6)}"
    admin = create_async_engine(url, poolclass=NullPool)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def _health_probes(app: FastAPI, count: int) -> list[float]:
    scope = http_scope("GET", "/health")
    latencies: list[float] = []
    for _ in range(count):
        start = time.perf_counter()
        await call(app, scope)
        latencies.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.002)  # probes, not a flood: leave the loop to the logins
    return latencies


async def _login_storm(database_url: str) -> None:
    settings = _settings(database_url)
    app = _app(settings)
    context = await lifespan(app)
    try:
        # 20 people, each with an account and an address of their own: a client has at
        # most one hash under way, so one address would not make a storm.
        forms = []
        for i in range(LOGINS):
            email = f"storm{i}@example.com"
            await _access_token(app, email)
            forms.append(urllib.parse.urlencode({"username": email, "password": PASSWORD}).encode())
        login = http_scope(
            "POST",
            "/api/v1/auth/login",
            headers=[(b"content-type", b"application/x-www-form-urlencoded")],
        )
        idle = await _health_probes(app, HEALTH_PROBES)
        done = 0
        stop = asyncio.Event()

        async def login_loop(index: int, form: bytes) -> None:
            nonlocal done
            scope = {**login, "client": (f"198.51.100.{index + 1}", 50000)}
            while not stop.is_set():
                status = await call(app, scope, form)
                assert status in (200, 503), status  # 503: the queue was full, at once
                done += status == 200
                if status == 503:
                    await asyncio.sleep(0.05)

        started = time.perf_counter()
        workers = [asyncio.create_task(login_loop(i, form)) for i, form in enumerate(forms)]
        busy = await _health_probes(app, HEALTH_PROBES)
        stop.set()
        await asyncio.gather(*workers)
        elapsed = time.perf_counter() - started
        hasher = app.state.resources.auth.kit.hasher
        print(
            f"argon2id t={settings.password_hash_time_cost} m={settings.password_hash_memory_cost}"
            f" KiB p={settings.password_hash_parallelism}, hashing concurrency "
            f"{hasher.concurrency}, {os.cpu_count()} cores"
        )
        print(f"  /health p99 idle           {_p99(idle):8.2f} ms")
        print(
            f"  /health p99 with {LOGINS} logins {_p99(busy):8.2f} ms "
            f"({_p99(busy) / _p99(idle):.1f}x idle)"
        )
        print(
            f"  login throughput           {done / elapsed:8.1f} logins/s ({done} in {elapsed:.1f} s)"
        )
    finally:
        await context.__aexit__(None, None, None)


async def run() -> None:
    for name in ("bastion.access", "httpx"):
        logger = logging.getLogger(name)
        logger.propagate = False
        logger.addHandler(logging.NullHandler())
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        print(f"{'mode':34} {'open µs':>9} {'protected µs':>12} {'extra µs':>10}")
        await _overhead("stateless tokens", _settings(sqlite, auth_stateless_tokens=True))
        await _overhead("live session check, SQLite", _settings(sqlite))
        postgres = os.environ.get("BASTION_TEST_DATABASE_URL")
        if postgres:
            async with _postgres_schema(postgres) as schema:
                await _overhead(
                    "live session check, PostgreSQL",
                    _settings(postgres, database_schema=schema),
                )
        else:
            print("(set BASTION_TEST_DATABASE_URL to measure the PostgreSQL session check)")
        print()
        await _login_storm(f"sqlite+aiosqlite:///{Path(tmp) / 'storm.db'}")


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
