"""The auth feature's costs, in the in-process ASGI benchmark (no sockets).

1. The live-session check: what `CurrentUser` adds to a route, on SQLite and (when
   `BASTION_TEST_DATABASE_URL` names one) PostgreSQL, in a schema of its own, dropped
   after. Each route runs three ways, alternating: without `CurrentUser` (base), with it
   on an app with stateless tokens (auth: the dependency and the token, verified once and
   then cached), and with it on an app with the default per-request check (checked). The
   check alone is checked minus auth, on the same route and database. Two routes: one
   that already reads through its unit of work (as the example's list does), where the
   check is one more statement on the same connection (the targets: <= 150 µs on
   PostgreSQL, <= 100 µs on SQLite), and one that never touches the database, where the
   check also pays the connection checkout and transaction the route did not need.
2. The pool's pre-ping on PostgreSQL: the reading route with `database_pool_pre_ping` off
   (the default) and on; the difference is the ping's round trips on every checkout.
3. Login never stalls the loop: `/health` p99 latency idle, then while 20 logins run at once
   (argon2id at the configured, default-sized parameters), and the login throughput.

Figures are means over alternating rounds, best round kept (parts 1 and 2), and p99 over
many sequential probes (part 3); compare figures within one run.
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
from sqlalchemy import MetaData, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool

from bastion import create_app
from bastion.auth import (
    Auth,
    CurrentUser,
    MfaChallengeMixin,
    RecoveryCodeMixin,
    RefreshSessionMixin,
    UserMixin,
)
from bastion.core import BastionSettings
from bastion.db import NAMING_CONVENTION
from bastion.web import Uow
from bench._asgi import Scope, call, http_scope, lifespan

REQUESTS = 400
ROUNDS = 15
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


MODELS = {"user": _User, "session": _Session, "recovery_code": _Code, "mfa_challenge": _Challenge}


def _routes() -> APIRouter:
    router = APIRouter()

    @router.get("/open")
    async def open_route() -> dict[str, str]:
        return {"hello": "world"}

    @router.get("/protected")
    async def protected(user: CurrentUser) -> dict[str, str]:
        return {"hello": str(user.id)}

    # The same read with and without the check: a route that uses its unit of work anyway.
    @router.get("/read")
    async def read(uow: Uow) -> dict[str, int]:
        rows = (await uow.session.execute(select(_User.id).limit(1))).all()
        return {"rows": len(rows)}

    @router.get("/read-protected")
    async def read_protected(uow: Uow, user: CurrentUser) -> dict[str, int]:
        rows = (await uow.session.execute(select(_User.id).limit(1))).all()
        return {"rows": len(rows)}

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
        routers=[Auth(**MODELS).router, _routes()],
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


async def _alternating(runs: list[tuple[FastAPI, Scope]]) -> list[tuple[float, float]]:
    """Mean µs per request of each (app, scope), wall clock and process CPU, in alternating rounds.

    Alternating spreads the machine's noise over every run alike, so the
    differences between them hold better than those of back-to-back runs; the
    best round of each is kept. The CPU figure is what this process spent (the
    driver's threads included), which waiting for a busy machine's CPUs does
    not inflate; PostgreSQL's own work is not in it.
    """
    best = [(float("inf"), float("inf"))] * len(runs)
    for app, scope in runs:
        assert await call(app, scope) < 400, "the warm-up failed"
    for _ in range(ROUNDS):
        for index, (app, scope) in enumerate(runs):
            started, cpu = time.perf_counter(), time.process_time()
            for _ in range(REQUESTS):
                status = await call(app, scope)
            elapsed = (time.perf_counter() - started) / REQUESTS * 1e6
            spent = (time.process_time() - cpu) / REQUESTS * 1e6
            assert status < 400, f"the benchmark measured {status} answers"
            best[index] = (min(best[index][0], elapsed), min(best[index][1], spent))
    return best


def _verdict(value: float, target: float | None) -> str:
    if target is None:
        return ""
    return f"  target <= {target:.0f}: {'met' if value <= target else 'MISSED'}"


def _check_row(
    label: str,
    base: tuple[float, float],
    auth: tuple[float, float],
    checked: tuple[float, float],
    target: float | None,
) -> None:
    check, check_cpu = checked[0] - auth[0], checked[1] - auth[1]
    print(
        f"{label:40} {base[0]:8.1f} {auth[0]:8.1f} {checked[0]:8.1f} {check:+8.1f}"
        f" {check_cpu:+8.1f}{_verdict(check, target)}"
    )


async def _overhead(name: str, database_url: str, target: float, **changes: object) -> None:
    """The check alone: the same routes on a checking app and on a stateless one, one database."""
    checking = _app(_settings(database_url, **changes))
    stateless = _app(_settings(database_url, auth_stateless_tokens=True, **changes))
    contexts = [await lifespan(app) for app in (checking, stateless)]
    try:
        # Both apps sign with one key: the token is good on each, and checked on one.
        token = await _access_token(checking, f"bench-{secrets.token_hex(4)}@example.com")
        auth = [(b"authorization", f"Bearer {token}".encode())]
        reading = await _alternating(
            [
                (checking, http_scope("GET", "/api/v1/read")),
                (stateless, http_scope("GET", "/api/v1/read-protected", headers=auth)),
                (checking, http_scope("GET", "/api/v1/read-protected", headers=auth)),
            ]
        )
        _check_row(f"{name}, route reading its unit of work", *reading, target)
        bare = await _alternating(
            [
                (checking, http_scope("GET", "/api/v1/open")),
                (stateless, http_scope("GET", "/api/v1/protected", headers=auth)),
                (checking, http_scope("GET", "/api/v1/protected", headers=auth)),
            ]
        )
        _check_row(f"{name}, route without database", *bare, None)
    finally:
        for context in reversed(contexts):
            await context.__aexit__(None, None, None)


async def _pre_ping(settings: BastionSettings) -> None:
    """The reading route with the pool's pre-ping off, then on, in alternating rounds."""
    apps = [
        _app(settings.model_copy(update={"database_pool_pre_ping": ping})) for ping in (False, True)
    ]
    contexts = [await lifespan(app) for app in apps]
    try:
        scope = http_scope("GET", "/api/v1/read")
        off, on = await _alternating([(app, scope) for app in apps])
        print(
            f"{'PostgreSQL read route, pre-ping off -> on':40} {off[0]:8.1f} {on[0]:8.1f}"
            f" {on[0] - off[0]:+8.1f} {on[1] - off[1]:+8.1f}"
        )
    finally:
        for context in reversed(contexts):
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
        hasher = app.state.resources.auth.hasher
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
    for name in ("bastion.access", "bastion.audit", "httpx"):
        logger = logging.getLogger(name)
        logger.propagate = False
        logger.addHandler(logging.NullHandler())
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        print(
            f"{'what CurrentUser adds, µs per request':40} {'base':>8} {'auth':>8} {'checked':>8}"
            f" {'check':>8} {'cpu':>8}"
        )
        await _overhead("SQLite", sqlite, 100)
        postgres = os.environ.get("BASTION_TEST_DATABASE_URL")
        if postgres:
            async with _postgres_schema(postgres) as schema:
                await _overhead("PostgreSQL", postgres, 150, database_schema=schema)
                print()
                print(
                    f"{'the pool pre-ping, µs per request':40} {'off':>8} {'on':>8} {'ping':>8} {'cpu':>8}"
                )
                await _pre_ping(_settings(postgres, database_schema=schema))
        else:
            print("(set BASTION_TEST_DATABASE_URL to measure the check on PostgreSQL)")
        print(
            "(auth: CurrentUser with stateless tokens; checked: with the live-session check;"
            " check = checked - auth, the target's figure; cpu: this process's share of it)"
        )
        print()
        await _login_storm(f"sqlite+aiosqlite:///{Path(tmp) / 'storm.db'}")


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
